//go:build unix

package nodeipc

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// adoptFD checks that fd is an open Unix stream socket and makes a Channel
// of it. The Channel owns a duplicate of fd; fd itself is closed, or, if it
// is one of 0, 1 and 2, pointed at /dev/null so that nothing else can take
// its number.
func adoptFD(fd int, opts *Options) (*Channel, error) {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("%w: %s=%d is not an open file descriptor: %w", ErrInvalidChannel, envChannelFD, fd, err)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d is not a socket: %w", ErrInvalidChannel, fd, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d: getsockname: %w", ErrInvalidChannel, fd, err)
	}
	if _, ok := sa.(*unix.SockaddrUnix); !ok || typ != unix.SOCK_STREAM {
		return nil, fmt.Errorf("%w: fd %d is not a Unix stream socket", ErrInvalidChannel, fd)
	}
	unix.CloseOnExec(fd)
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d: dup: %w", ErrInvalidChannel, fd, err)
	}
	f := os.NewFile(uintptr(dup), "node-ipc")
	conn, err := net.FileConn(f) // another close-on-exec duplicate
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: fd %d: %w", ErrInvalidChannel, fd, err)
	}
	ch, err := NewChannel(conn, opts)
	if err != nil {
		conn.Close()
	}
	// Only now is the original fd let go of: the channel's own descriptors
	// are made above, so none of them takes its number.
	if fd <= 2 {
		// Keep the standard fd number taken, by something harmless.
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			_ = unix.Dup2(int(null.Fd()), fd)
			null.Close()
		}
	} else {
		_ = unix.Close(fd)
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}
