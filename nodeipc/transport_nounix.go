//go:build !unix && !windows

// Without Unix sockets a channel carries messages only, over any
// io.ReadWriteCloser.

package nodeipc

import (
	"errors"
	"io"
	"syscall"
	"time"
)

const oobSize = 0

func (t *transport) read(p, oob []byte, got *fdBatch) (int, error) { return t.conn.Read(p) }

func closeFD(fd int) {}

func isConnGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// rawIO is empty without Unix sockets.
type rawIO struct{}

func (x *rawIO) init(uc unixConn) {}

// tryWrite is not used without Unix sockets.
func (t *transport) tryWrite(bufs [][]byte) (int, error) { return 0, errors.ErrUnsupported }

func (t *transport) peerClosed() bool { return true }

func interruptible(conn io.ReadWriteCloser) interface{ SetReadDeadline(time.Time) error } { return nil }
