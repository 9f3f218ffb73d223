package pool

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// serveClock is the period of Serve's watcher on Linux: a timerfd, read
// through the runtime's network poller. Waiting on it parks the watcher
// like any network read and leaves no Go timer pending (with one, every
// sleep of the scheduler in the network poller programs a kernel timer,
// on every call of a busy worker). Without a timerfd it falls back to Go
// timers.
type serveClock struct {
	f    *os.File        // the timerfd, or nil
	rc   syscall.RawConn // f's
	read func(fd uintptr) bool
	buf  [8]byte
}

// open makes the timerfd, disarmed.
func (c *serveClock) open() {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "nodeipc-serve-clock")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	c.f, c.rc = f, rc
	c.read = func(fd uintptr) bool {
		// A raw read: it cannot block, and a system call through the
		// scheduler would wake sysmon (see writev_linux.go).
		_, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)))
		return errno != unix.EAGAIN && errno != unix.EINTR
	}
}

// arm makes the clock tick every period from now on; 0 stops it.
func (c *serveClock) arm(period time.Duration) {
	if c.f == nil {
		return
	}
	ts := unix.NsecToTimespec(period.Nanoseconds())
	c.rc.Control(func(fd uintptr) {
		unix.TimerfdSettime(int(fd), 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil)
	})
}

// wait waits for the next tick, or until done is closed (after interrupt).
func (c *serveClock) wait(period time.Duration, done <-chan struct{}) {
	if c.f == nil {
		sleep(period, done)
		return
	}
	if err := c.rc.Read(c.read); err != nil {
		<-done // interrupted: the end of Serve
	}
}

// interrupt ends the wait in progress and every later one: Serve ends.
func (c *serveClock) interrupt() {
	if c.f != nil {
		c.f.SetReadDeadline(time.Unix(1, 0))
	}
}

// close releases the timerfd, once nothing waits on it.
func (c *serveClock) close() {
	if c.f != nil {
		c.f.Close()
	}
}
