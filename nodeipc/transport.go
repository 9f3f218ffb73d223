package nodeipc

import (
	"io"
	"net"
	"time"
)

// transport is the channel's connection to the peer. The reader (whoever
// holds the read token) reads it and the writer (the outbox) writes it; the
// platform files give it reads that collect passed file descriptors,
// non-blocking writes and polling reads where the system allows.
type transport struct {
	conn io.ReadWriteCloser
	uc   *net.UnixConn // conn as a Unix socket, or nil: then no handles, no lent token
	raw  rawIO         // uc's raw connection, for non-blocking writes and polling reads
	// rd interrupts reads with a deadline (a Unix socket, Windows' pipe),
	// or is nil: then the read token is never lent.
	rd interface{ SetReadDeadline(time.Time) error }
}

func (t *transport) init(conn io.ReadWriteCloser) {
	t.conn = conn
	t.uc, _ = conn.(*net.UnixConn)
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
