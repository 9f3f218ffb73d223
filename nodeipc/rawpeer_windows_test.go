package nodeipc_test

import (
	"io"
	"testing"

	"nodeipc.dev/nodeipc"
)

// rawConn is the test's end of a raw peer: the other end of the channel's
// named pipe, which frames what the test writes and unframes what it reads
// (libuv's frames, as a Node peer on Windows sends them).
type rawConn = io.ReadWriteCloser

// connPair returns two connected conns a Channel can run on: the ends
// of a named pipe.
func connPair(t *testing.T) (a io.ReadWriteCloser, b rawConn) {
	t.Helper()
	a, b, err := nodeipc.RawPipePair()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}
