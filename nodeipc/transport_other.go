//go:build !linux

// Without Linux's extras: reads park at once, and the watch clock is a Go
// timer.

package nodeipc

import "net"

// adoptUnix returns uc as it is: the runtime's poller serves it (Linux
// takes the socket out of it, sock_linux.go).
func adoptUnix(uc *net.UnixConn) unixConn { return uc }

// pollRead is unused: polling before parking is done on Linux only.
type pollRead struct{}

func (r *pollRead) readFD(fd uintptr) bool { return true }

// readPolling is read: polling before parking is done on Linux only.
func (t *transport) readPolling(p, oob []byte, pol *pollPolicy, got *fdBatch) (int, error) {
	return t.read(p, oob, got)
}

// watchClock is the period of a background reader watching its lent read
// token: Go timers, where Linux uses a timerfd.
type watchClock = timerClock
