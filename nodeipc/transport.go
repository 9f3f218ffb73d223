package nodeipc

import (
	"io"
	"net"
	"syscall"
	"time"
)

// transport is the channel's connection to the peer. The reader (whoever
// holds the read token) reads it and the writer (the outbox) writes it; the
// platform files give it reads that collect passed file descriptors,
// non-blocking writes and polling reads where the system allows.
type transport struct {
	conn io.ReadWriteCloser
	uc   unixConn // conn as a Unix socket, or nil: then no handles, no lent token
	raw  rawIO    // uc's raw connection, for non-blocking writes and polling reads
	// rd interrupts reads with a deadline (a Unix socket, Windows' pipe),
	// or is nil: then the read token is never lent.
	rd interface{ SetReadDeadline(time.Time) error }
}

// unixConn is what the channel uses of a Unix socket: a *net.UnixConn, or
// on Linux the socket taken out of the runtime's poller (sock_linux.go).
type unixConn interface {
	io.ReadWriteCloser
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
	SyscallConn() (syscall.RawConn, error)
	SetReadDeadline(t time.Time) error
	CloseWrite() error
}

func (t *transport) init(conn io.ReadWriteCloser) {
	if uc, ok := conn.(*net.UnixConn); ok {
		t.uc = adoptUnix(uc)
		conn = t.uc
	}
	t.conn = conn
	t.raw.init(t.uc)
	if t.uc != nil {
		t.rd = t.uc
	} else {
		t.rd = interruptible(conn)
	}
}

// fdBatch is what one read brought besides bytes: the file descriptors
// passed with it, and whether control data was lost (MSG_CTRUNC).
type fdBatch struct {
	fds   []int
	trunc bool
}

// writeBuffers writes every segment, with writev where the conn supports it.
func (t *transport) writeBuffers(b *net.Buffers) error {
	if w, ok := t.conn.(interface{ writeBuffers(*net.Buffers) error }); ok {
		return w.writeBuffers(b)
	}
	if len(*b) == 1 {
		seg := (*b)[0]
		for len(seg) > 0 {
			n, err := t.conn.Write(seg)
			if err != nil {
				return err
			}
			seg = seg[n:]
		}
		return nil
	}
	_, err := b.WriteTo(t.conn)
	return err
}
