//go:build !linux

// Without Linux's extras: reads park at once, and the watch clock is a Go
// timer.

package nodeipc

import (
	"time"
)

// pollRead is unused: polling before parking is done on Linux only.
type pollRead struct{}

func (r *pollRead) readFD(fd uintptr) bool { return true }

// readPolling is read: polling before parking is done on Linux only.
func (c *Channel) readPolling(p, oob []byte, pol *pollPolicy) (int, error) {
	return c.read(p, oob)
}

// watchClock is the watchdog's period: Go timers, where Linux uses a
// timerfd (see watchclock_linux.go). A pending Go timer costs every sleep
// of the scheduler a kernel timer, but a sleeping system call would hold
// a P for up to 10 ms.
type watchClock struct{}

func (w *watchClock) start(period time.Duration) {}

func (w *watchClock) wait() { time.Sleep(watchPeriod) }

func (w *watchClock) stop() {}
