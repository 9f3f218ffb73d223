package nodeipc

import (
	"io"
	"net"
)

// transport is the channel's connection to the peer. The reader (whoever
// holds the read token) reads it and the writer (the outbox) writes it; the
// platform files give it reads that collect passed file descriptors,
// non-blocking writes and polling reads where the system allows.
type transport struct {
	conn io.ReadWriteCloser
	uc   *net.UnixConn // conn as a Unix socket, or nil: then no handles, no lent token
	raw  rawIO         // uc's raw connection, for non-blocking writes and polling reads
}

func (t *transport) init(conn io.ReadWriteCloser) {
	t.conn = conn
	t.uc, _ = conn.(*net.UnixConn)
	t.raw.init(t.uc)
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
