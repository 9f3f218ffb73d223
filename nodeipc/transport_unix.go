//go:build unix

// The channel's socket on Unix: reads that collect passed fds, non-blocking
// writes, and telling a closed peer from a half-closed one.

package nodeipc

import (
	"errors"
	"io"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oobSize is the control buffer for one read: room for many fds, as
// libuv's 256-byte buffer has.
var oobSize = unix.CmsgSpace(maxQueuedFDs * 4)

// read reads once from the channel; on a Unix socket it also collects the
// fds passed with SCM_RIGHTS (close-on-exec) into got, and notes truncated
// control data, for the reader to match with their messages.
func (t *transport) read(p, oob []byte, got *fdBatch) (int, error) {
	if t.uc == nil {
		return t.conn.Read(p)
	}
	n, oobn, flags, _, err := t.uc.ReadMsgUnix(p, oob)
	got.collect(oob[:oobn], flags)
	return n, err
}

// collect takes the fds of every SCM_RIGHTS message in oob, and notes
// control data that did not fit.
func (got *fdBatch) collect(oob []byte, flags int) {
	if flags&unix.MSG_CTRUNC != 0 {
		got.trunc = true
	}
	if len(oob) == 0 {
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		got.trunc = true
		return
	}
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			got.fds = append(got.fds, fd)
		}
	}
}

func closeFD(fd int) { _ = unix.Close(fd) }

// isConnGone reports the write and read errors that mean the peer left.
func isConnGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// writeNow writes bufs to the non-blocking fd with one system call
// (writeOnce) and returns how many bytes the socket took (0 when it is
// full).
func writeNow(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := writeOnce(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		if err == unix.EAGAIN {
			err = nil
		}
		return n, err
	}
}

// rawIO is the channel's raw connection (nil if it is not a Unix socket)
// and the state of its non-blocking writes and polling reads, kept so that
// they allocate nothing per call. Writes are exclusive (the write queue's
// writing flag) and reads are too (readMu), so one of each suffices.
type rawIO struct {
	rc syscall.RawConn

	wbufs [][]byte
	wn    int
	werr  error
	wfn   func(fd uintptr) bool

	pr  pollRead
	rfn func(fd uintptr) bool
}

func (x *rawIO) init(uc unixConn) {
	if uc == nil {
		return
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return
	}
	x.rc = rc
	x.wfn = x.writeFD
	x.rfn = x.pr.readFD
}

func (x *rawIO) writeFD(fd uintptr) bool {
	x.wn, x.werr = writeNow(int(fd), x.wbufs)
	return true
}

// tryWrite writes as much of bufs as the socket takes now, without
// waiting, and returns the byte count. It needs a Unix socket channel.
func (t *transport) tryWrite(bufs [][]byte) (int, error) {
	x := &t.raw
	if x.rc == nil {
		return 0, errors.ErrUnsupported
	}
	x.wbufs = bufs
	err := x.rc.Write(x.wfn)
	n, werr := x.wn, x.werr
	x.wbufs, x.wn, x.werr = nil, 0, nil
	if err != nil {
		return n, err
	}
	return n, werr
}

// peerClosed reports, after EOF, whether the peer closed the socket
// entirely (POLLHUP) rather than only its sending side (shutdown(SHUT_WR),
// what CloseWrite does): in the second case our messages can still reach it.
func (t *transport) peerClosed() bool {
	if t.uc == nil {
		return true
	}
	rc, err := t.uc.SyscallConn()
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

// interruptible is nil: only Unix sockets (transport.uc) have their reads
// interrupted.
func interruptible(conn io.ReadWriteCloser) interface{ SetReadDeadline(time.Time) error } { return nil }
