package nodeipc

import (
	"bytes"
	"fmt"

	"nodeipc.dev/internal/jsontext"
)

// Matching received file descriptors to their NODE_HANDLE messages. The
// kernel delivers an fd with the bytes of the write that carried it, and a
// read never spans two fd-carrying writes; Node attaches the fd to the
// first bytes of the NODE_HANDLE it belongs to. The reader therefore notes,
// for each fd, the stream range of the read that brought it, and gives it
// to the NODE_HANDLE that starts in that range (PROTOCOL.md, handles).

// recvFD is an fd received with SCM_RIGHTS, waiting for its NODE_HANDLE.
type recvFD struct {
	fd         int   // -1: a bad read (several fds, or truncated control data)
	start, end int64 // stream offsets of the read that brought it
}

// queueFDs queues the fds of the last read for the NODE_HANDLE they came
// with, which starts in that read. A well-behaved sender (Node) attaches
// exactly one fd to the first bytes of each NODE_HANDLE, and a read never
// spans two fd-carrying writes; anything else (several fds in one write,
// truncated control data) is refused: the fds are closed, the NODE_HANDLE
// they came with is answered with a NACK, and Recv reports the error.
func (r *reader) queueFDs(n int) {
	end := r.offset + int64(r.end-r.start)
	start := end - int64(n)
	fds, trunc := r.got.fds, r.got.trunc
	r.got.fds, r.got.trunc = r.got.fds[:0], false
	if len(fds) == 1 && !trunc && len(r.fds) < maxQueuedFDs {
		r.fds = append(r.fds, recvFD{fd: fds[0], start: start, end: end})
		return
	}
	for _, fd := range fds {
		closeFD(fd)
	}
	reason := fmt.Sprintf("%d file descriptors in one write (a handle message carries one)", len(fds))
	switch {
	case trunc:
		reason = "control data truncated (MSG_CTRUNC): file descriptors lost"
	case len(r.fds) >= maxQueuedFDs:
		reason = "too many file descriptors waiting for their NODE_HANDLE"
	}
	r.spans = append(r.spans, span{err: protoErr("read", end, nil, ErrInvalidHandle, "%s", reason)})
	if len(r.fds) < maxQueuedFDs {
		r.fds = append(r.fds, recvFD{fd: -1, start: start, end: end})
	}
}

// dropStrayFDs closes the fds whose read ended at or before the stream
// offset limit, and that no NODE_HANDLE has taken: when limit is where
// parsing stands, every message that started in that read was seen
// without a NODE_HANDLE taking them: they came with an ordinary message.
// (Node would hand such an fd to the next NODE_HANDLE, whatever its own
// fd; nodeipc refuses it.)
func (r *reader) dropStrayFDs(limit int64) {
	n := 0
	for n < len(r.fds) && r.fds[n].end <= limit {
		f := r.fds[n]
		if f.fd >= 0 {
			closeFD(f.fd)
			r.spans = append(r.spans, span{err: protoErr("read", f.end, nil, ErrInvalidHandle,
				"a file descriptor came with a message that is not a NODE_HANDLE; closed it")})
		}
		n++
	}
	if n > 0 {
		r.fds = append(r.fds[:0], r.fds[n:]...)
	}
}

// takeFD returns the fd for a NODE_HANDLE that starts at stream offset
// off, or -1 (none came, or the read was bad). An fd belongs to the last
// NODE_HANDLE that starts in the read that brought it (the kernel ends a
// read with the write that carried fds, and senders attach the fd to the
// first bytes of its NODE_HANDLE), so a NODE_HANDLE without an fd does not
// take the fd of one that follows it.
func (r *reader) takeFD(off int64) int {
	r.badTake = false
	r.dropStrayFDs(off)
	if len(r.fds) == 0 {
		return -1
	}
	f := r.fds[0]
	if off < f.start || (r.c.opts.Serialization == JSON && r.laterHandleInRead(f.end)) {
		return -1
	}
	r.fds = append(r.fds[:0], r.fds[1:]...)
	r.badTake = f.fd < 0
	return f.fd
}

// laterHandleInRead reports whether a NODE_HANDLE starts after the current
// message and before stream offset end (json mode).
func (r *reader) laterHandleInRead(end int64) bool {
	limit := min(r.start+int(end-r.offset), r.end)
	if r.msgEnd >= limit {
		return false
	}
	rest := r.buf[r.msgEnd:limit]
	for len(rest) > 0 {
		line := rest
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = jsontext.TrimSpace(line)
		if i >= 0 {
			if cmd, ok := jsonInternalCmd(line); ok && cmd == "NODE_HANDLE" {
				return true
			}
		} else if bytes.HasPrefix(line, []byte(`{"cmd":"NODE_HANDLE"`)) {
			return true
		}
	}
	return false
}

// closeFDs closes every fd received and not delivered: at Close, with the
// reader stopped.
func (r *reader) closeFDs() {
	for _, f := range r.fds {
		if f.fd >= 0 {
			closeFD(f.fd)
		}
	}
	r.fds = nil
	for _, fd := range r.got.fds {
		closeFD(fd)
	}
	r.got.fds = nil
}
