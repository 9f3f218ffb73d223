//go:build !linux

package nodeipc

import "time"

// watchClock is the watchdog's period: Go timers, where Linux uses a
// timerfd (see watchclock_linux.go). A pending Go timer costs every sleep
// of the scheduler a kernel timer, but a sleeping system call would hold
// a P for up to 10 ms.
type watchClock struct{}

func (w *watchClock) start(period time.Duration) {}

func (w *watchClock) wait() { time.Sleep(watchPeriod) }

func (w *watchClock) stop() {}
