//go:build unix && !(darwin || linux || openbsd)

package nodeipc

import "golang.org/x/sys/unix"

// writeNow writes the first of bufs to fd with one non-blocking write and
// returns how many bytes the socket took (0 when it is full).
func writeNow(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := unix.Write(fd, bufs[0])
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		if err == unix.EAGAIN {
			err = nil
		}
		return n, err
	}
}
