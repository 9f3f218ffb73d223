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
// The timerfd is made on the watchdog's first start and kept for the life
// of the process, disarmed while the watchdog is stopped: one descriptor,
// close-on-exec, instead of one opened and closed for every start.
type watchClock struct {
	fd  int
	f   *os.File // fd, registered with the runtime's poller
	buf [8]byte
}

// start arms the clock to tick every period. It reports false if the
// clock cannot be made, and the watchdog then sleeps on Go timers.
func (w *watchClock) start(period time.Duration) bool {
	if w.f == nil {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			return false
		}
		w.fd = fd
		w.f = os.NewFile(uintptr(fd), "nodeipc-watchdog")
	}
	ts := unix.NsecToTimespec(period.Nanoseconds())
	// Setting the timer also forgets the ticks of an earlier run that were
	// never read, so the first wait lasts a whole period.
	return unix.TimerfdSettime(w.fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil) == nil
}

// wait waits for the next tick.
func (w *watchClock) wait() {
	if _, err := w.f.Read(w.buf[:]); err != nil {
		time.Sleep(watchPeriod) // cannot happen with an armed timerfd
	}
}

// stop disarms the clock.
func (w *watchClock) stop() {
	_ = unix.TimerfdSettime(w.fd, 0, &unix.ItimerSpec{}, nil)
}
