package nodeipc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The read token decides who reads the socket. Reading in a background
// goroutine alone would cost every batch of messages a hand-off from that
// goroutine to the one in Recv (a wake-up and, on a busy machine, a context
// switch); so a Recv call that finds the queue empty reads the socket
// itself, and keeps the token while its caller handles what it got. The
// background reader takes the token back when no Recv call has used it for
// a while (internal messages, handles and the end of the stream must be
// seen even when nobody calls Recv: see watchdog), or at once when the
// channel needs it (a handle or cluster reply awaited outside Recv); and a
// Recv call that finds the token with the background reader interrupts its
// read with a past deadline and borrows the token.
//
// Only channels over a *net.UnixConn lend the token (the read must be
// interruptible); on other conns the background reader always reads.
const (
	tokBG     int32 = iota // the background reader holds it (and may be blocked in a read)
	tokRecv                // a Recv call holds it and is reading
	tokIdle                // lent to Recv calls: the next one with an empty queue reads
	tokClosed              // the channel is closed
)

// errInterrupted is returned by reader.step when its read was interrupted
// before any byte came.
var errInterrupted = errors.New("nodeipc: read interrupted")

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

type readToken struct {
	state atomic.Int32
	want  atomic.Bool // a Recv call asked the background reader for the token

	bgCh   chan struct{} // cap 1: the token went back to the background reader
	lentCh chan struct{} // cap 1: the token is lent to Recv calls
	wantCh chan struct{} // cap 1: want was set

	mu       sync.Mutex // serializes deadlines and the moves away from tokBG
	deadline bool       // a read deadline is set
	// The context whose AfterFunc is registered (by its Done channel), the
	// registration, and the Done channel of the context of the Recv read
	// in progress (nil if none).
	ctxDone <-chan struct{}
	ctxStop func() bool
	reading <-chan struct{}
	lend    bool // reads can be interrupted: the token may be lent

	epoch   atomic.Uint64 // counts the Recv reads, for the watchdog
	watched atomic.Bool   // the watchdog is watching this token
	seen    uint64        // epoch at the watchdog's last look (watchdog.mu)
	still   int           // looks that found a Recv blocked in its read (watchdog.mu)
}

func (t *readToken) init(c *Channel) {
	t.bgCh = make(chan struct{}, 1)
	t.lentCh = make(chan struct{}, 1)
	t.wantCh = make(chan struct{}, 1)
	t.lend = c.uc != nil
}

// acquireBG waits until the background reader holds the token. It reports
// false when the channel is closing or the stream has ended.
func (t *readToken) acquireBG(c *Channel) bool {
	for t.state.Load() != tokBG {
		select {
		case <-t.bgCh:
		case <-c.closing:
			return false
		case <-c.r.ended:
			return false
		}
	}
	select {
	case <-c.r.ended:
		return false
	default:
		return true
	}
}

// wanted reports whether a Recv call asked for the token.
func (t *readToken) wanted() bool { return t.want.Load() }

// lendToRecv is the background reader giving the token to Recv calls.
func (t *readToken) lendToRecv(c *Channel) {
	t.mu.Lock()
	t.clearDeadline(c)
	t.want.Store(false)
	t.state.Store(tokIdle)
	t.mu.Unlock()
	watch(c)
	signal(t.lentCh)
}

// clearDeadline removes a deadline set to interrupt a read. Call with t.mu
// held.
func (t *readToken) clearDeadline(c *Channel) {
	if t.deadline {
		_ = c.uc.SetReadDeadline(time.Time{})
		t.deadline = false
	}
}

// dropDeadline removes any read deadline, whoever set it.
func (t *readToken) dropDeadline(c *Channel) {
	t.mu.Lock()
	t.deadline = true
	t.clearDeadline(c)
	t.mu.Unlock()
}

// takeForRecv is a Recv call with nothing queued asking for the token: it
// reports true if the caller now holds it and must read. Otherwise, if the
// background reader holds it, it is asked to give it up (the caller then
// waits, and is woken through lentCh).
func (t *readToken) takeForRecv(c *Channel) bool {
	if !t.lend {
		return false
	}
	switch t.state.Load() {
	case tokIdle:
		if t.state.CompareAndSwap(tokIdle, tokRecv) {
			t.epoch.Add(1)
			return true
		}
	case tokBG:
		if !t.want.Load() {
			t.mu.Lock()
			if t.state.Load() == tokBG && !t.want.Load() {
				t.want.Store(true)
				_ = c.uc.SetReadDeadline(aLongTimeAgo)
				t.deadline = true
				signal(t.wantCh)
			}
			t.mu.Unlock()
		}
	}
	return false
}

// recvDone is the Recv call that read giving the token back to Recv calls.
func (t *readToken) recvDone(c *Channel) {
	t.state.CompareAndSwap(tokRecv, tokIdle)
	if !t.watched.Load() {
		watch(c)
	}
	if c.r.waiting.Load() > 0 {
		signal(t.lentCh)
	}
}

// reclaim gives a lent token back to the background reader at once: for
// waits on internal replies (a handle's ACK, a cluster answer) that must
// not depend on the caller calling Recv.
func (t *readToken) reclaim(c *Channel) {
	if t.lend && t.state.CompareAndSwap(tokIdle, tokBG) {
		signal(t.bgCh)
		c.w.wake() // Sends may have deferred it
	}
}

// close ends lending: called at Close with the reader stopped.
func (t *readToken) close(c *Channel) {
	if !t.lend {
		return
	}
	t.mu.Lock()
	t.state.Store(tokClosed)
	if t.ctxStop != nil {
		t.ctxStop()
		t.ctxStop, t.ctxDone = nil, nil
	}
	t.mu.Unlock()
	unwatch(c)
}

// recvRead is a Recv call holding the token: it reads once and queues what
// came. ctx interrupts the read. It returns a non-nil error only when ctx
// is done.
func (c *Channel) recvRead(ctx context.Context) error {
	t := &c.tok
	done := ctx.Done()
	if done != nil && !t.watchContext(c, ctx, done) {
		t.recvDone(c)
		return ctx.Err()
	}
	c.flushInline()
	c.readMu.Lock()
	err := c.rd.step()
	c.readMu.Unlock()
	if done != nil {
		t.mu.Lock()
		t.reading = nil
		t.clearDeadline(c)
		t.mu.Unlock()
	}
	switch {
	case err == errInterrupted:
		t.recvDone(c)
		if err := ctx.Err(); err != nil {
			return err
		}
		return nil
	case err != nil:
		c.endRead(err)
	}
	t.recvDone(c)
	return nil
}

// watchContext arranges for ctx to interrupt the read a Recv call is about
// to do, and reports false if ctx is already done. One registration
// (context.AfterFunc) serves every Recv with the same context, so a loop
// calling Recv(ctx) does not pay for one per read.
func (t *readToken) watchContext(c *Channel, ctx context.Context, done <-chan struct{}) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctxDone != done {
		if t.ctxStop != nil {
			t.ctxStop()
		}
		t.ctxDone = done
		t.ctxStop = context.AfterFunc(ctx, func() {
			t.mu.Lock()
			if t.reading == done {
				_ = c.uc.SetReadDeadline(aLongTimeAgo)
				t.deadline = true
			}
			t.mu.Unlock()
		})
	}
	if ctx.Err() != nil {
		return false
	}
	t.reading = done
	return true
}
