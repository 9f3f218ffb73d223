package nodeipc

import (
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// RawPipePair returns the two ends of a new named pipe as the channel
// sees them: each Write is one libuv frame, Read returns the payloads.
func RawPipePair() (a, b io.ReadWriteCloser, err error) {
	server, client, err := newPipePair()
	if err != nil {
		return nil, nil, err
	}
	ca, err := newPipeConn(server, "raw-a")
	if err != nil {
		windows.CloseHandle(server)
		windows.CloseHandle(client)
		return nil, nil, err
	}
	cb, err := newPipeConn(client, "raw-b")
	if err != nil {
		ca.Close()
		windows.CloseHandle(client)
		return nil, nil, err
	}
	return ca, cb, nil
}

// RawPipe returns the two ends of a new named pipe without framing, for
// tests that write libuv frames (or broken ones) by hand.
func RawPipe() (a, b io.ReadWriteCloser, err error) {
	ca, cb, err := RawPipePair()
	if err != nil {
		return nil, nil, err
	}
	return ca.(*pipeConn).f, cb.(*pipeConn).f, nil
}

// FramedForTest frames a raw pipe end as the channel does.
func FramedForTest(f io.ReadWriteCloser) io.ReadWriteCloser {
	return &pipeConn{f: f.(*os.File)}
}
