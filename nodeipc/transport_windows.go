// The channel on Windows: a duplex named pipe opened for overlapped I/O,
// with libuv's frame on every write (pipeframe.go). Reads and writes go
// through the runtime's I/O completion port (os.File on an overlapped
// handle), each with its own OVERLAPPED, so a pending read never holds up
// a write. No handles travel, and the read token is never lent: reads are
// plain blocking reads of the background reader.

package nodeipc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

const oobSize = 0

func (t *transport) read(p, oob []byte, got *fdBatch) (int, error) { return t.conn.Read(p) }

func closeFD(fd int) {}

// isConnGone reports the errors that mean the other end of the pipe is
// gone: ERROR_BROKEN_PIPE (reads and writes after the peer closed),
// ERROR_NO_DATA (a write while it closes), ERROR_PIPE_NOT_CONNECTED.
func isConnGone(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA) ||
		errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// rawIO is empty: writes on Windows always go through the pipe's os.File.
type rawIO struct{}

func (x *rawIO) init(uc unixConn) {}

// tryWrite is not used on Windows.
func (t *transport) tryWrite(bufs [][]byte) (int, error) { return 0, errors.ErrUnsupported }

// peerClosed is true: a pipe cannot be half-closed, EOF is the peer's
// close.
func (t *transport) peerClosed() bool { return true }

// pipeConn is one end of a channel's named pipe as an io.ReadWriteCloser
// of Node's bytes: Write puts each buffer in a libuv frame, Read returns
// the payloads without their frames. One goroutine reads and one writes at
// a time (the read token, the outbox); Close may come from any goroutine
// and ends a pending read or write.
type pipeConn struct {
	f    *os.File
	rd   frameReader
	wbuf []byte // a frame on its way out: header and payload, one WriteFile
}

// newPipeConn takes ownership of h, an overlapped pipe handle.
func newPipeConn(h windows.Handle, name string) (*pipeConn, error) {
	f := os.NewFile(uintptr(h), name)
	if f == nil {
		return nil, fmt.Errorf("%w: invalid pipe handle", ErrInvalidChannel)
	}
	return &pipeConn{f: f}, nil
}

// Read reads the payload bytes of the next frames into p.
func (c *pipeConn) Read(p []byte) (int, error) {
	for {
		if c.rd.err != nil {
			return 0, c.rd.err
		}
		n, err := c.f.Read(p)
		m, ferr := c.rd.strip(p[:n])
		switch {
		case m > 0:
			return m, nil // an error comes again with the next read
		case ferr != nil:
			return 0, ferr
		case err != nil:
			return 0, err
		}
		// Only frame headers came: read on.
	}
}

// copyFrameMax is the largest payload that Write copies behind its header
// to leave in one WriteFile; a larger one goes as two writes.
const copyFrameMax = 256 << 10

// Write writes p as one frame (several past maxFramePayload).
func (c *pipeConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		chunk := p[done:min(len(p), done+maxFramePayload)]
		if len(chunk) <= copyFrameMax {
			c.wbuf = append(appendFrameHeader(c.wbuf[:0], len(chunk)), chunk...)
			_, err := c.f.Write(c.wbuf)
			if cap(c.wbuf) > 2*copyFrameMax {
				c.wbuf = nil
			}
			if err != nil {
				return done, err
			}
		} else {
			c.wbuf = appendFrameHeader(c.wbuf[:0], len(chunk))
			if _, err := c.f.Write(c.wbuf); err != nil {
				return done, err
			}
			if _, err := c.f.Write(chunk); err != nil {
				return done, err
			}
		}
		done += len(chunk)
	}
	return done, nil
}

// Close closes the pipe, ending a pending read or write.
func (c *pipeConn) Close() error { return c.f.Close() }

// newPipePair returns the two ends of a new duplex named pipe, both
// opened for overlapped I/O and not inheritable: the server end and the
// client end, as libuv makes them for a child's stdio (a random name,
// one instance, local clients only; the client's open succeeding proves
// that nobody else took the instance).
func newPipePair() (server, client windows.Handle, err error) {
	var rnd [8]byte
	for range 8 {
		_, _ = rand.Read(rnd[:])
		name, err := windows.UTF16PtrFromString(`\\.\pipe\nodeipc-` + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:]))
		if err != nil {
			return 0, 0, err
		}
		server, err = windows.CreateNamedPipe(name,
			windows.PIPE_ACCESS_DUPLEX|windows.FILE_FLAG_OVERLAPPED|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
			windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
			1, 64<<10, 64<<10, 0, nil)
		if err == windows.ERROR_ACCESS_DENIED || err == windows.ERROR_PIPE_BUSY {
			continue // the name is taken
		}
		if err != nil {
			return 0, 0, fmt.Errorf("nodeipc: CreateNamedPipe: %w", err)
		}
		client, err = windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil,
			windows.OPEN_EXISTING, windows.FILE_FLAG_OVERLAPPED, 0)
		if err != nil {
			windows.CloseHandle(server)
			return 0, 0, fmt.Errorf("nodeipc: open pipe client: %w", err)
		}
		// Both ends exist, so this does not wait.
		if err := windows.ConnectNamedPipe(server, nil); err != nil && err != windows.ERROR_PIPE_CONNECTED {
			windows.CloseHandle(server)
			windows.CloseHandle(client)
			return 0, 0, fmt.Errorf("nodeipc: ConnectNamedPipe: %w", err)
		}
		return server, client, nil
	}
	return 0, 0, errors.New("nodeipc: CreateNamedPipe: no free pipe name")
}

// isOverlapped reports whether h was opened for overlapped I/O.
func isOverlapped(h windows.Handle) (bool, error) {
	const fileModeInformation = 16 // FILE_INFORMATION_CLASS
	var mode uint32                // FILE_MODE_INFORMATION
	var iosb windows.IO_STATUS_BLOCK
	if err := windows.NtQueryInformationFile(h, &iosb, (*byte)(unsafe.Pointer(&mode)), uint32(unsafe.Sizeof(mode)), fileModeInformation); err != nil {
		return false, err
	}
	return mode&(windows.FILE_SYNCHRONOUS_IO_ALERT|windows.FILE_SYNCHRONOUS_IO_NONALERT) == 0, nil
}

// interruptible returns the pipe's read deadline, which interrupts a
// pending read: a channel on a pipe lends its read token as one on a Unix
// socket does.
func interruptible(conn io.ReadWriteCloser) interface{ SetReadDeadline(time.Time) error } {
	if c, ok := conn.(*pipeConn); ok {
		return c.f
	}
	return nil
}
