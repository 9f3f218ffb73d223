package nodeipc

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// watchClock is the watchdog's period on Linux: a periodic timerfd, read
// through the runtime's network poller. Waiting on it parks the watchdog
// goroutine like any network read: it holds no P (a sleeping system call
// holds its P until sysmon takes it back, which can take up to 10 ms, and
// in a program with GOMAXPROCS=1 stops every other goroutine meanwhile),
// and it leaves no Go timer pending (with one, every sleep of the scheduler
// in the network poller programs a kernel timer; see watchdog).
//
// The timerfd (close-on-exec) exists only while the watchdog runs: start
// makes it and stop closes it.
type watchClock struct {
	f   *os.File // the timerfd, registered with the runtime's poller
	buf [8]byte
}

// start makes the clock and arms it to tick every period. If it cannot,
// wait sleeps on Go timers instead. The caller serializes start and stop.
func (w *watchClock) start(period time.Duration) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return
	}
	ts := unix.NsecToTimespec(period.Nanoseconds())
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		unix.Close(fd)
		return
	}
	w.f = os.NewFile(uintptr(fd), "nodeipc-watchdog")
}

// wait waits for the next tick. Only the watchdog goroutine calls it,
// between start and stop.
func (w *watchClock) wait() {
	if w.f == nil {
		time.Sleep(watchPeriod)
		return
	}
	if _, err := w.f.Read(w.buf[:]); err != nil {
		time.Sleep(watchPeriod) // cannot happen with an armed timerfd
	}
}

// stop closes the clock.
func (w *watchClock) stop() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
