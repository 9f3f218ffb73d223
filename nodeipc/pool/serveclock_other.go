//go:build !linux

package pool

import "time"

// serveClock is the period of Serve's watcher: Go timers, where Linux uses
// a timerfd (see serveclock_linux.go).
type serveClock struct{}

func (c *serveClock) open()                                           {}
func (c *serveClock) arm(time.Duration)                               {}
func (c *serveClock) wait(period time.Duration, done <-chan struct{}) { sleep(period, done) }
func (c *serveClock) interrupt()                                      {}
func (c *serveClock) close()                                          {}
