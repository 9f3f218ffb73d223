//go:build !unix && !windows

package nodeipc_test

import (
	"io"
	"net"
	"testing"

	"nodeipc.dev/nodeipc"
)

// rawConn is the test's end of a raw peer: on systems without Unix sockets
// or named pipes (js, wasip1), the other end of an in-memory net.Pipe.
type rawConn = io.ReadWriteCloser

// connPair returns two connected conns a Channel can run on.
func connPair(t *testing.T) (a, b io.ReadWriteCloser) {
	t.Helper()
	x, y := net.Pipe()
	return x, y
}

// rawPeer returns a Channel whose peer is a raw conn the test drives by
// hand, like a hostile or foreign implementation would.
func rawPeer(t *testing.T, opts *nodeipc.Options) (*nodeipc.Channel, rawConn) {
	t.Helper()
	a, b := connPair(t)
	ch, err := nodeipc.NewChannel(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close(); b.Close() })
	return ch, b
}
