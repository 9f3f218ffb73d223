//go:build unix

package nodeipc_test

import (
	"io"
	"net"
	"syscall"
	"testing"

	"nodeipc.dev/nodeipc"
)

// rawConn is the test's end of a raw peer: a Unix socket.
type rawConn = *net.UnixConn

// socketPair returns two connected Unix stream sockets, closed when the
// test ends.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	return nodeipc.UnixPairOf(t, syscall.SOCK_STREAM)
}

// socketPairOf returns two connected Unix sockets of type typ, closed when
// the test ends.
func socketPairOf(t *testing.T, typ int) (*net.UnixConn, *net.UnixConn) {
	return nodeipc.UnixPairOf(t, typ)
}

// connPair returns two connected conns a Channel can run on.
func connPair(t *testing.T) (a io.ReadWriteCloser, b rawConn) { return socketPair(t) }
