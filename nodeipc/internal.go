package nodeipc

// internal handles a NODE_* message the peer sent. It runs on the reader
// goroutine, in arrival order.
//
// Handle passing is not implemented yet: a NODE_HANDLE is answered with
// NODE_HANDLE_NACK (so the sender's queue never stalls), and the fd that
// came with it, if any, is closed. Other internal messages are ignored.
func (c *Channel) internal(cmd string, m *Message) {
	switch cmd {
	case "NODE_HANDLE":
		if len(c.fds) > 0 {
			closeFD(c.fds[0])
			c.fds = c.fds[1:]
		}
		c.fdTruncated = false
		_ = c.sendInternal(jsonObject{"cmd": "NODE_HANDLE_NACK"})
	}
	if c.onInternal != nil {
		c.onInternal(cmd, m)
	}
}
