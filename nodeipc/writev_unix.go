//go:build darwin || linux || openbsd

package nodeipc

import "golang.org/x/sys/unix"

// maxIovecs bounds the segments of one writev (IOV_MAX is 1024).
const maxIovecs = 1024

// writeNow writes bufs to fd with one non-blocking writev and returns how
// many bytes the socket took (0 when it is full).
func writeNow(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	for {
		n, err := unix.Writev(fd, bufs)
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
