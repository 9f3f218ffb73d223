//go:build !linux

package nodeipc

// readPolling is read: polling before parking is done on Linux only.
func (c *Channel) readPolling(p, oob []byte, pol *pollPolicy) (int, error) {
	return c.read(p, oob)
}
