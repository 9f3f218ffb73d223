// The channel's socket on Linux, kept out of the runtime's network poller.

package nodeipc

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sock is a channel's Unix stream socket that wakes the process only for
// what the channel waits for.
//
// The runtime's network poller registers every socket for input and output
// at once, edge-triggered. Then each time the peer reads what the channel
// wrote, the socket turns writable and a thread sleeping in the poller is
// woken for nothing: a worker answering one call at a time pays one extra
// thread wake-up and switch per answer, on a machine whose CPUs the peer
// needs too. (libuv asks for output readiness only while a write waits.)
//
// sock owns the socket's descriptor, which the runtime does not poll, and
// two epoll instances of its own, which it does:
//
//   - in holds the socket for input (level-triggered): it is readable while
//     the socket has bytes or has hung up. Reads wait on it, and the read
//     deadline that interrupts a reader (the read token) is set on it.
//   - out holds the socket for output only while a write waits because the
//     socket is full: added when a write is refused (EAGAIN), removed when
//     that write is done.
//
// Every system call on the descriptor runs in a callback of in's or out's
// RawConn. Close closes in and out first, which wakes their waiters and
// waits for callbacks in progress, and only then the descriptor, so no call
// can use a closed (or reused) descriptor.
//
// Reads are exclusive (the read token) and so are writes (the outbox's
// writing flag); sock keeps one state of each so that neither allocates.
type sock struct {
	fd          int
	in, out     *os.File
	inRC, outRC syscall.RawConn

	closeOnce sync.Once
	closeErr  error

	// Read state (ReadMsgUnix, and Read of the RawConn).
	r      pollRead
	rfn    func(uintptr) bool // s.readMsgFD
	rawF   func(fd uintptr) bool
	rawRFn func(uintptr) bool // s.rawReadFD

	// Write state: the operation in progress and whether out holds the
	// socket.
	wOp      func() bool // one attempt; false: the socket is full
	wfn      func(uintptr) bool
	outAdded bool
	wErr     error // an epoll_ctl failure, which ends the write
	wbufs    [][]byte
	wn       int
	werr     error
	wvfn     func() bool // s.writevOnce
	rawWF    func(fd uintptr) bool
	rawWFn   func() bool // s.rawWriteOnce
	msgB     []byte
	msgOOB   []byte
	msgFn    func() bool // s.sendmsgOnce
}

// adoptUnix takes uc's socket out of the runtime's poller into a sock: it
// duplicates the descriptor and closes uc. If any step fails, uc is
// returned as it is.
func adoptUnix(uc *net.UnixConn) unixConn {
	s, err := newSock(uc)
	if err != nil {
		return uc
	}
	uc.Close()
	return s
}

func newSock(uc *net.UnixConn) (*sock, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) {
		fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	s := &sock{fd: fd}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if s.in, err = newEpollFile("nodeipc-in", fd, unix.EPOLLIN|unix.EPOLLRDHUP); err == nil {
		s.out, err = newEpollFile("nodeipc-out", -1, 0)
	}
	if err == nil {
		s.inRC, err = s.in.SyscallConn()
	}
	if err == nil {
		s.outRC, err = s.out.SyscallConn()
	}
	// Both files must be in the runtime's poller, or waiting on them
	// would block a thread: a file that is not refuses deadlines.
	if err == nil {
		err = s.in.SetReadDeadline(time.Time{})
	}
	if err == nil {
		err = s.out.SetReadDeadline(time.Time{})
	}
	if err != nil {
		if s.in != nil {
			s.in.Close()
		}
		if s.out != nil {
			s.out.Close()
		}
		unix.Close(fd)
		return nil, err
	}
	s.rfn = s.readMsgFD
	s.rawRFn = s.rawReadFD
	s.wfn = s.writeFD
	s.wvfn = s.writevOnce
	s.rawWFn = s.rawWriteOnce
	s.msgFn = s.sendmsgOnce
	return s, nil
}

// newEpollFile returns a new epoll instance as a non-blocking *os.File (so
// in the runtime's poller), holding fd for events if fd >= 0.
func newEpollFile(name string, fd int, events uint32) (*os.File, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if fd >= 0 {
		ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(ep)
			return nil, err
		}
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, err
	}
	return os.NewFile(uintptr(ep), name), nil
}

// opError is a failed operation as the net package reports it. A failure
// of in's or out's RawConn is their read deadline, or their being closed,
// which is the socket's being closed.
func (s *sock) opError(op string, err error, fromRC bool) error {
	if fromRC && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "unix", Err: os.NewSyscallError(op, err)}
}

// readMsgFD is one recvmsg into s.r, the RawConn callback of ReadMsgUnix.
func (s *sock) readMsgFD(uintptr) bool {
	for {
		s.r.recvmsg(uintptr(s.fd))
		if s.r.err != unix.EINTR {
			return s.r.err != unix.EAGAIN
		}
	}
}

// ReadMsgUnix reads once, waiting for bytes, with the fds passed (up to
// len(oob) bytes of control data); at the end of the stream it returns
// io.EOF, as net.UnixConn does.
func (s *sock) ReadMsgUnix(p, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error) {
	r := &s.r
	r.p, r.oob = p, oob
	rerr := s.inRC.Read(s.rfn)
	n, oobn, flags, err = r.n, r.oobn, r.flags, r.err
	r.p, r.oob = nil, nil
	r.iov, r.hdr = unix.Iovec{}, unix.Msghdr{} // keep nothing of p alive
	switch {
	case rerr != nil:
		return 0, 0, 0, nil, s.opError("read", rerr, true)
	case err != nil:
		return 0, 0, 0, nil, s.opError("read", err, false)
	case n == 0 && len(p) > 0:
		return 0, 0, 0, nil, io.EOF
	}
	return n, oobn, flags, nil, nil
}

// Read reads once, waiting for bytes.
func (s *sock) Read(p []byte) (int, error) {
	n, _, _, _, err := s.ReadMsgUnix(p, nil)
	return n, err
}

// SetReadDeadline sets the deadline of reads: in's.
func (s *sock) SetReadDeadline(t time.Time) error { return s.in.SetReadDeadline(t) }

// write runs op until it reports that the socket took its bytes (or
// failed), waiting for room while it reports the socket full. It returns
// the error of the wait (a closed socket), or of making out hold the
// socket, as the net package reports errors.
func (s *sock) write(op func() bool) error {
	s.wOp, s.wErr = op, nil
	err := s.outRC.Read(s.wfn)
	werr := s.wErr
	s.wOp, s.wErr = nil, nil
	if err != nil {
		return s.opError("write", err, true)
	}
	if werr != nil {
		return s.opError("write", werr, false)
	}
	return nil
}

// writeFD is write's RawConn callback (epfd is out's descriptor): one
// attempt, and on a full socket out is made to hold the socket so that the
// wait ends when there is room. out keeps holding it until the write in
// progress is done (writeDone): a large write that the socket takes in
// parts waits several times.
func (s *sock) writeFD(epfd uintptr) bool {
	if s.wOp() {
		return true
	}
	if !s.outAdded {
		ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(s.fd)}
		if err := unix.EpollCtl(int(epfd), unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			s.wErr = err
			return true
		}
		s.outAdded = true
	}
	return false
}

// writeDone ends a write: out no longer holds the socket.
func (s *sock) writeDone() {
	if s.outAdded {
		_ = s.outRC.Control(func(epfd uintptr) {
			_ = unix.EpollCtl(int(epfd), unix.EPOLL_CTL_DEL, s.fd, nil)
		})
		s.outAdded = false
	}
}

// writevOnce writes s.wbufs with one writev; false if the socket is full.
func (s *sock) writevOnce() bool {
	for {
		if n, err := writeOnce(s.fd, s.wbufs); err != unix.EINTR {
			return s.wrote(n, err)
		}
	}
}

// wrote records the outcome of one write system call, and reports false
// if the socket was full (nothing written, try again when there is room).
func (s *sock) wrote(n int, err error) bool {
	if err == unix.EAGAIN {
		return false
	}
	s.wn, s.werr = n, err
	return true
}

// writeAll writes every byte of bufs, waiting for room as needed.
func (s *sock) writeAll(bufs [][]byte) error {
	defer s.writeDone()
	for len(bufs) > 0 {
		s.wbufs, s.wn, s.werr = bufs, 0, nil
		err := s.write(s.wvfn)
		n, werr := s.wn, s.werr
		s.wbufs = nil
		if err != nil {
			return err
		}
		if werr != nil {
			return s.opError("write", werr, false)
		}
		for n > 0 && len(bufs) > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
				continue
			}
			bufs[0] = bufs[0][n:]
			n = 0
		}
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
	}
	return nil
}

// Write writes all of p, waiting for room as needed.
func (s *sock) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bufs := [1][]byte{p}
	if err := s.writeAll(bufs[:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeBuffers writes every segment of b with writev, as
// net.Buffers.WriteTo does for a net.Conn, and consumes b.
func (s *sock) writeBuffers(b *net.Buffers) error {
	err := s.writeAll(*b)
	*b = (*b)[len(*b):]
	return err
}

// sendmsgOnce is one sendmsg of s.msgB with s.msgOOB.
func (s *sock) sendmsgOnce() bool {
	for {
		if n, err := unix.SendmsgN(s.fd, s.msgB, s.msgOOB, nil, unix.MSG_NOSIGNAL); err != unix.EINTR {
			return s.wrote(n, err)
		}
	}
}

// WriteMsgUnix sends b with the control data oob (passed fds) in one
// sendmsg, waiting for room if the socket is full, and returns how much of
// b went. addr must be nil: the socket is connected.
func (s *sock) WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error) {
	if addr != nil {
		return 0, 0, s.opError("write", unix.EISCONN, false)
	}
	s.msgB, s.msgOOB, s.wn, s.werr = b, oob, 0, nil
	rerr := s.write(s.msgFn)
	s.writeDone()
	n, err = s.wn, s.werr
	s.msgB, s.msgOOB = nil, nil
	if rerr != nil {
		return 0, 0, rerr
	}
	if err != nil {
		return 0, 0, s.opError("write", err, false)
	}
	return n, len(oob), nil
}

// CloseWrite shuts the socket's sending side down.
func (s *sock) CloseWrite() error {
	var serr error
	if err := s.inRC.Control(func(uintptr) { serr = unix.Shutdown(s.fd, unix.SHUT_WR) }); err != nil {
		return s.opError("close", err, true)
	}
	if serr != nil {
		return s.opError("close", serr, false)
	}
	return nil
}

// Close closes the socket. It wakes a waiting read or write, which return
// an error wrapping net.ErrClosed.
func (s *sock) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.in.Close() // waits for a callback in progress
		s.out.Close()
		if err := unix.Close(s.fd); err != nil {
			s.closeErr = s.opError("close", err, false)
		}
	})
	if !first {
		return s.opError("close", net.ErrClosed, true)
	}
	return s.closeErr
}

// SyscallConn returns the socket's raw connection: its callbacks get the
// socket's descriptor; Read waits on in, Write on out.
func (s *sock) SyscallConn() (syscall.RawConn, error) { return sockRawConn{s}, nil }

type sockRawConn struct{ s *sock }

func (c sockRawConn) Control(f func(fd uintptr)) error {
	s := c.s
	return s.inRC.Control(func(uintptr) { f(uintptr(s.fd)) })
}

func (s *sock) rawReadFD(uintptr) bool { return s.rawF(uintptr(s.fd)) }

func (c sockRawConn) Read(f func(fd uintptr) bool) error {
	s := c.s
	s.rawF = f
	err := s.inRC.Read(s.rawRFn)
	s.rawF = nil
	if err != nil {
		return s.opError("read", err, true)
	}
	return nil
}

func (s *sock) rawWriteOnce() bool { return s.rawWF(uintptr(s.fd)) }

func (c sockRawConn) Write(f func(fd uintptr) bool) error {
	s := c.s
	s.rawWF = f
	err := s.write(s.rawWFn)
	s.writeDone()
	s.rawWF = nil
	return err
}
