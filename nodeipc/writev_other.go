//go:build unix && !(darwin || linux || openbsd)

package nodeipc

import "golang.org/x/sys/unix"

// writeOnce writes the first of bufs to fd with one write.
func writeOnce(fd int, bufs [][]byte) (int, error) {
	return unix.Write(fd, bufs[0])
}
