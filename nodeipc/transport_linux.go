// What only Linux has: close-on-exec socketpairs in one call, writev for
// inline writes, reads that poll before parking (recvmsg without
// allocating), and a timerfd clock for watching a lent read token.

package nodeipc

import (
	"io"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollRead is the state of one polling read (see readPolling), kept in the
// channel so that a read allocates nothing.
type pollRead struct {
	p, oob         []byte
	pol            *pollPolicy
	n, oobn, flags int
	err            error
	polled         bool
	start          time.Time
	budget         time.Duration

	// The recvmsg arguments, here rather than in unix.Recvmsg's frame:
	// that allocates a socket address for every call, and an empty
	// socket is read many times over while it is polled.
	iov unix.Iovec
	hdr unix.Msghdr
}

// recvmsg is one recvmsg(2) of fd into r.p and r.oob, without allocating.
func (r *pollRead) recvmsg(fd uintptr) {
	r.hdr = unix.Msghdr{}
	r.iov = unix.Iovec{}
	if len(r.p) > 0 {
		r.iov.Base = &r.p[0]
		r.iov.SetLen(len(r.p))
		r.hdr.Iov = &r.iov
		r.hdr.SetIovlen(1)
	}
	if len(r.oob) > 0 {
		r.hdr.Control = &r.oob[0]
		r.hdr.SetControllen(len(r.oob))
	}
	// A raw system call: the socket is non-blocking, so it never waits, and
	// entering the scheduler's system-call state would wake sysmon each
	// time the process comes back from idle (see writeOnce).
	n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.hdr)), unix.MSG_CMSG_CLOEXEC)
	r.err = nil
	if errno != 0 {
		r.err = errno
		n = 0
	}
	r.n, r.oobn, r.flags = int(n), int(r.hdr.Controllen), int(r.hdr.Flags)
	if r.err != nil {
		r.oobn, r.flags = 0, 0
	}
}

// readFD is the function given to RawConn.Read: it reads once, or polls an
// empty socket for the policy's budget, and returns false to park.
func (r *pollRead) readFD(fd uintptr) bool {
	for {
		r.recvmsg(fd)
		if r.err == unix.EINTR {
			continue
		}
		if r.err != unix.EAGAIN {
			if r.polled && r.budget > 0 {
				r.pol.result(time.Since(r.start) <= pollFast)
			}
			return true
		}
		if r.polled {
			if r.budget == 0 {
				return false // parked before, or not polling: wait again
			}
			if time.Since(r.start) > r.budget {
				r.pol.result(false)
				r.budget = 0
				return false
			}
		} else {
			r.polled = true
			if r.budget = r.pol.budget(); r.budget == 0 {
				return false
			}
			r.start = time.Now()
		}
		runtime.Gosched() // let the goroutines of this program run
	}
}

// readPolling is read for a Recv call holding the read token: when the
// socket is empty it polls it (see poll.go) before parking in the runtime's
// poller. It reads into p and oob as read does and reports the same
// results.
func (t *transport) readPolling(p, oob []byte, pol *pollPolicy, got *fdBatch) (int, error) {
	x := &t.raw
	if x.rc == nil {
		return t.read(p, oob, got)
	}
	r := &x.pr
	*r = pollRead{p: p, oob: oob, pol: pol}
	err := x.rc.Read(x.rfn)
	n, oobn, flags, rerr := r.n, r.oobn, r.flags, r.err
	r.p, r.oob, r.pol = nil, nil, nil
	r.iov, r.hdr = unix.Iovec{}, unix.Msghdr{} // keep nothing of p alive
	if err != nil {
		return 0, err // the read deadline (an interruption) or a closed conn
	}
	if rerr != nil {
		return 0, rerr
	}
	got.collect(oob[:oobn], flags)
	if n == 0 && len(p) > 0 {
		return 0, io.EOF // as the runtime's reads report the end of a stream
	}
	return n, nil
}

// socketpair returns a connected pair of close-on-exec Unix stream sockets.
func socketpair() ([2]int, error) {
	return unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
}

// maxIovecs bounds the segments of one writev (IOV_MAX is 1024).
const maxIovecs = 1024

// writeOnce writes bufs to the non-blocking fd with one writev, as a raw
// system call. unix.Writev enters the scheduler's system-call state, which
// wakes sysmon whenever it sleeps because every P was idle: in a process
// that answers one message at a time that is every message, and sysmon's
// wake-up, its 20 µs naps after it and its going back to sleep cost about a
// fifth of a Go pool worker's CPU (measured per thread; pprof does not see
// sysmon). A write that cannot block needs none of that state.
func writeOnce(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	var small [16]unix.Iovec
	iov := small[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	if len(iov) == 0 {
		return 0, nil
	}
	n, _, errno := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// watchClock is the period of a background reader watching its lent read
// token (see readToken.lend), on Linux a periodic timerfd read through the
// runtime's network poller. Waiting on it parks the goroutine like any
// network read: it holds no P (a sleeping system call holds its P until
// sysmon takes it back, up to 10 ms later, and in a program with
// GOMAXPROCS=1 stops every other goroutine meanwhile), and it leaves no Go
// timer pending (with one, every sleep of the scheduler in the network
// poller programs a kernel timer, which costs a busy channel measurably).
//
// The timerfd (close-on-exec) exists only while the clock runs: start
// makes it and stop closes it. Only the reader goroutine calls start, wait
// and stop; interrupt may be called from anywhere.
type watchClock struct {
	mu  sync.Mutex
	f   *os.File // the timerfd, registered with the runtime's poller
	buf [8]byte
	// kick is set by interrupt and cleared by wait: the wait it ended,
	// or the next one, returns at once.
	kick bool
	// fallback is the clock without a timerfd (none could be made).
	fallback timerClock
}

func (w *watchClock) init() { w.fallback.init() }

// start makes the clock tick every period. If no timerfd can be made, the
// clock runs on Go timers instead.
func (w *watchClock) start(period time.Duration) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err == nil {
		ts := unix.NsecToTimespec(period.Nanoseconds())
		if err = unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		w.fallback.start(period)
		return
	}
	w.mu.Lock()
	w.f = os.NewFile(uintptr(fd), "nodeipc-watch")
	w.mu.Unlock()
}

// wait waits for the next tick or an interrupt.
func (w *watchClock) wait() {
	w.mu.Lock()
	f := w.f
	if f == nil {
		w.mu.Unlock()
		w.fallback.wait()
		return
	}
	if !w.kick {
		w.mu.Unlock()
		_, _ = f.Read(w.buf[:]) // a tick, or the past deadline of interrupt
		w.mu.Lock()
	}
	if w.kick {
		w.kick = false
		_ = f.SetReadDeadline(time.Time{})
	}
	w.mu.Unlock()
}

// interrupt ends the current or next wait at once.
func (w *watchClock) interrupt() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		w.fallback.interrupt()
		return
	}
	w.kick = true
	_ = w.f.SetReadDeadline(aLongTimeAgo)
}

// stop closes the clock.
func (w *watchClock) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kick = false
	if w.f != nil {
		w.f.Close()
		w.f = nil
		return
	}
	w.fallback.stop()
}
