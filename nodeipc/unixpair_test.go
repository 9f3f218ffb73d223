//go:build unix

package nodeipc

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// unixPair returns the two ends of a new Unix stream socket pair (see
// unixPairOf).
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	return unixPairOf(t, syscall.SOCK_STREAM)
}

// unixPairOf returns the two ends of a new close-on-exec Unix socket pair
// of type typ, both closed when the test ends (closing one twice is
// harmless). The external tests call it as UnixPairOf.
func unixPairOf(t *testing.T, typ int) (*net.UnixConn, *net.UnixConn) {
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
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}

// UnixPairOf is unixPairOf, for the package's external tests.
var UnixPairOf = unixPairOf
