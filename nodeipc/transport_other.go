//go:build !linux

package nodeipc

// pollRead is unused: polling before parking is done on Linux only.
type pollRead struct{}

func (r *pollRead) readFD(fd uintptr) bool { return true }

// readPolling is read: polling before parking is done on Linux only.
func (c *Channel) readPolling(p, oob []byte, pol *pollPolicy) (int, error) {
	return c.read(p, oob)
}
