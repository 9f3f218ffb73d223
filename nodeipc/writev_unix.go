//go:build darwin || linux || openbsd

package nodeipc

import "golang.org/x/sys/unix"

// maxIovecs bounds the segments of one writev (IOV_MAX is 1024).
const maxIovecs = 1024

// writeOnce writes bufs to fd with one writev.
func writeOnce(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	return unix.Writev(fd, bufs)
}
