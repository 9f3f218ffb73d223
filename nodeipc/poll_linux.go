package nodeipc

import (
	"io"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// readPolling is read for a Recv call holding the read token: when the
// socket is empty it polls it (see poll.go) before parking in the runtime's
// poller. It reads into p and oob as read does and reports the same
// results.
func (c *Channel) readPolling(p, oob []byte, pol *pollPolicy) (int, error) {
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return c.read(p, oob)
	}
	var n, oobn, flags int
	var rerr error
	polled := false
	err = rc.Read(func(fd uintptr) bool {
		var start time.Time
		var budget time.Duration
		for {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), p, oob, unix.MSG_CMSG_CLOEXEC)
			if rerr == unix.EINTR {
				continue
			}
			if rerr != unix.EAGAIN {
				if polled && budget > 0 {
					pol.result(true)
				}
				return true
			}
			if polled {
				if budget == 0 {
					return false // parked before, or not polling: wait again
				}
				if time.Since(start) > budget {
					pol.result(false)
					budget = 0
					return false
				}
			} else {
				polled = true
				if budget = pol.budget(); budget == 0 {
					return false
				}
				start = time.Now()
			}
			runtime.Gosched() // let the goroutines of this program run
		}
	})
	if err != nil {
		return 0, err // the read deadline (an interruption) or a closed conn
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF // as the runtime's reads report the end of a stream
	}
	if oobn > 0 {
		c.collectFDs(oob[:oobn])
	}
	if flags&unix.MSG_CTRUNC != 0 {
		c.ctrunc = true
	}
	return n, nil
}
