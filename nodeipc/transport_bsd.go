//go:build unix && !linux

// Sockets on the other Unix systems: socketpairs marked close-on-exec under
// the fork lock, and plain writes for inline writes.

package nodeipc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketpair returns a connected pair of close-on-exec Unix stream sockets.
// Without SOCK_CLOEXEC, the fork lock keeps a concurrent exec from
// inheriting them before they are marked.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return fds, nil
}

// writeOnce writes the first of bufs to fd with one write.
func writeOnce(fd int, bufs [][]byte) (int, error) {
	return unix.Write(fd, bufs[0])
}
