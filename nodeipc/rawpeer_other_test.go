//go:build !unix && !windows

package nodeipc_test

import (
	"io"
	"net"
	"testing"
)

// rawConn is the test's end of a raw peer: on systems without Unix sockets
// or named pipes (js, wasip1), the other end of an in-memory net.Pipe.
type rawConn = io.ReadWriteCloser

// connPair returns two connected conns a Channel can run on.
func connPair(t *testing.T) (a io.ReadWriteCloser, b rawConn) {
	t.Helper()
	x, y := net.Pipe()
	return x, y
}
