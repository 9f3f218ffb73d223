package nodeipc

// Our replies to the peer's handles, pre-encoded per mode.
var (
	ackJSON  = []byte(`{"cmd":"NODE_HANDLE_ACK"}` + "\n")
	nackJSON = []byte(`{"cmd":"NODE_HANDLE_NACK"}` + "\n")
)

// reply queues NODE_HANDLE_ACK or NODE_HANDLE_NACK ahead of everything else.
func (c *Channel) reply(ack bool) {
	if c.opts.Serialization == JSON {
		if ack {
			c.out.enqueueCtl(ackJSON)
		} else {
			c.out.enqueueCtl(nackJSON)
		}
		return
	}
	cmd := "NODE_HANDLE_NACK"
	if ack {
		cmd = "NODE_HANDLE_ACK"
	}
	if frame, err := c.encode(nil, jsonObject{"cmd": cmd}, nil); err == nil {
		c.out.enqueueCtl(frame)
	}
}

// internal handles a NODE_* message the peer sent. It runs on the reader
// goroutine, in arrival order; off is the message's stream offset.
// Messages and errors for Recv are appended to r.spans, so they keep their
// place among the other messages of the read.
func (r *reader) internal(cmd string, m *Message, off int64) {
	c := r.c
	switch cmd {
	case "NODE_HANDLE":
		r.nodeHandle(m, off)
	case "NODE_HANDLE_ACK", "NODE_HANDLE_NACK":
		if !c.out.handleReply(cmd == "NODE_HANDLE_NACK") && c.t.uc != nil {
			r.spans = append(r.spans, span{err: protoErr("read", off, m.data, ErrInvalidHandle,
				"%s without a handle in flight (ignored)", cmd)})
		}
	case "NODE_SOCKET_GET_COUNT", "NODE_SOCKET_NOTIFY_CLOSE":
		c.socketMessage(cmd, m)
	case "NODE_CLUSTER":
		c.toCluster(m, nil)
	}
	if c.onInternal != nil {
		c.onInternal(cmd, m)
	}
}

// nodeHandle takes the fd of a NODE_HANDLE, answers ACK (an fd came) or
// NACK (none did), and queues the user message with its handle.
func (r *reader) nodeHandle(m *Message, off int64) {
	c := r.c
	fd := r.takeFD(off)
	if fd < 0 {
		// NACK is the protocol's answer (Node's too): the sender
		// retransmits or gives up and tells its caller. It is also reported
		// to Recv, as bad input, since the message cannot be delivered
		// with its handle; a retransmission may still bring it. (A bad
		// read, several fds or truncated control data, was reported when
		// it happened.)
		c.reply(false)
		if !r.badTake {
			r.spans = append(r.spans, span{err: protoErr("read", off, m.data, ErrInvalidHandle,
				"NODE_HANDLE without a file descriptor (answered NODE_HANDLE_NACK)")})
		}
		return
	}
	c.reply(true)
	env, err := c.parseEnvelope(m)
	if err != nil {
		closeFD(fd)
		r.spans = append(r.spans, span{err: protoErr("read", off, m.data, ErrInvalidHandle, "bad NODE_HANDLE: %v", err)})
		return
	}
	h, err := c.newRecvHandle(fd, env)
	if err != nil {
		r.spans = append(r.spans, span{err: protoErr("read", off, m.data, err, "%v", err)})
		return
	}
	msg := &Message{data: env.msg, mode: m.mode, handle: &handleSlot{}}
	msg.handle.h.Store(h)
	if env.internal != "" {
		// A handle for the library itself (cluster).
		if env.internal == "NODE_CLUSTER" && c.toCluster(msg, h) {
			return
		}
		h.Close()
		return
	}
	r.spans = append(r.spans, span{m: msg})
}

// toCluster passes a NODE_CLUSTER message to the cluster worker, if one
// joined; it reports whether one took it.
func (c *Channel) toCluster(m *Message, h *Handle) bool {
	c.clusterMu.Lock()
	f := c.cluster
	c.clusterMu.Unlock()
	if f == nil {
		return false
	}
	f(m, h)
	return true
}
