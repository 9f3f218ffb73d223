//go:build unix

package nodeipc

import "golang.org/x/sys/unix"

// peerClosed reports, after EOF, whether the peer closed the socket
// entirely (POLLHUP) rather than only its sending side (shutdown(SHUT_WR),
// what CloseWrite does): in the second case our messages can still reach it.
func (c *Channel) peerClosed() bool {
	if c.uc == nil {
		return true
	}
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return true
	}
	closed := true
	_ = rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(p, 0); err == nil && n == 1 {
			closed = p[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return closed
}
