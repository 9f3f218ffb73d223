//go:build unix

package nodeipc_test

import (
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"nodeipc.dev/nodeipc"
)

// rawConn is the test's end of a raw peer: a Unix socket.
type rawConn = *net.UnixConn

// socketPair returns two connected Unix stream sockets.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	return socketPairOf(t, syscall.SOCK_STREAM)
}

// socketPairOf returns two connected Unix sockets of type typ.
func socketPairOf(t *testing.T, typ int) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1]
}

// connPair returns two connected conns a Channel can run on.
func connPair(t *testing.T) (a, b io.ReadWriteCloser) { return socketPair(t) }

// rawPeer returns a Channel whose peer is a raw socket the test drives by
// hand, like a hostile or foreign implementation would.
func rawPeer(t *testing.T, opts *nodeipc.Options) (*nodeipc.Channel, rawConn) {
	t.Helper()
	a, b := socketPair(t)
	ch, err := nodeipc.NewChannel(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close(); b.Close() })
	return ch, b
}
