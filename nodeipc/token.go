package nodeipc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The read token decides who reads the socket; docs/design.md has the
// whole story and the state table. In short: reading in the background
// goroutine alone would cost every batch of messages a hand-off to the
// goroutine in Recv (a wake-up, and on a busy machine a context switch), so
// a Recv call that finds nothing queued asks for the token and reads the
// socket itself. The background reader lends it and, while it is lent,
// watches it: when no Recv call has read for a whole watch period, it takes
// the token back, so that internal messages, the end of the stream and
// deferred Sends are never left waiting on a caller that stopped calling
// Recv. Code that waits for an internal reply (a handle's ACK) takes it back
// at once (reclaim).
//
// Only channels over a *net.UnixConn lend the token (a read must be
// interruptible); on other conns the background reader always reads.
const (
	tokBG     int32 = iota // the background reader holds it (and may be blocked in a read)
	tokRecv                // a Recv call holds it and is reading
	tokIdle                // lent to Recv calls: the next one with an empty queue reads
	tokClosed              // the channel is closed
)

// watchPeriod is how long a lent token may go unused before the background
// reader takes it back (it does so between one and two periods).
const watchPeriod = 20 * time.Millisecond

// errInterrupted is returned by reader.step when its read was interrupted
// before any byte came.
var errInterrupted = errors.New("nodeipc: read interrupted")

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// readToken is the read token of one channel. Its state moves only as the
// table in docs/design.md says; mu serializes read deadlines and the moves
// that set them.
type readToken struct {
	state atomic.Int32
	want  atomic.Bool // a Recv call asked the background reader for the token
	lend  bool        // reads can be interrupted: the token may be lent

	tr      *transport      // for read deadlines
	closing <-chan struct{} // the channel's: closed when Close starts
	ended   <-chan struct{} // the inbox's: closed when the stream ended

	bgCh    chan struct{} // cap 1: the token went back to the background reader
	lentCh  chan struct{} // cap 1: the token is lent to Recv calls
	wantCh  chan struct{} // cap 1: want was set
	watchCh chan struct{} // cap 1: a Recv read ended while the watch was paused
	waiters atomic.Int32  // Recv calls waiting for lentCh

	// The watch (background reader while the token is lent).
	epoch  atomic.Uint64 // counts the Recv reads
	paused atomic.Bool   // the watch stopped ticking: a Recv call is blocked in a long read
	clock  watchClock

	mu       sync.Mutex // serializes deadlines and the moves away from tokBG
	deadline bool       // a read deadline is set
	// The context whose AfterFunc is registered (by its Done channel), the
	// registration, and the Done channel of the context of the Recv read
	// in progress (nil if none).
	ctxDone <-chan struct{}
	ctxStop func() bool
	reading <-chan struct{}
}

func (t *readToken) init(tr *transport, closing, ended <-chan struct{}) {
	t.tr, t.closing, t.ended = tr, closing, ended
	t.bgCh = make(chan struct{}, 1)
	t.lentCh = make(chan struct{}, 1)
	t.wantCh = make(chan struct{}, 1)
	t.watchCh = make(chan struct{}, 1)
	t.lend = tr.rd != nil
	t.clock.init()
}

// wanted reports whether a Recv call asked for the token.
func (t *readToken) wanted() bool { return t.want.Load() }

// lendAndWatch is the background reader lending the token to Recv calls
// (tokBG → tokIdle) and watching it until it comes back. It returns true
// when the token is back with the background reader, false when the
// channel is closing or the stream has ended (the reader then exits).
//
// The watch ticks every watchPeriod. A tick that finds the token idle and
// no Recv read since the last tick takes it back. A Recv call blocked in
// one read for two ticks pauses the ticking (an idle program does not wake
// up for nothing); the Recv call resumes it when its read ends (recvDone).
func (t *readToken) lendAndWatch() bool {
	t.mu.Lock()
	t.clearDeadline()
	t.want.Store(false)
	t.state.Store(tokIdle)
	t.mu.Unlock()
	signal(t.lentCh)

	t.clock.start(watchPeriod)
	seen, still := t.epoch.Load(), 0
	ticked := false // a period has passed since seen was taken
	for {
		select {
		case <-t.closing:
			t.clock.stop()
			return false
		case <-t.ended:
			t.clock.stop()
			return false
		default:
		}
		e := t.epoch.Load()
		switch t.state.Load() {
		case tokBG: // reclaimed
			t.clock.stop()
			return true
		case tokIdle:
			if ticked && e == seen && t.state.CompareAndSwap(tokIdle, tokBG) {
				t.clock.stop()
				return true // lent and unused for a whole period
			}
			still = 0
		case tokRecv:
			if !ticked || e != seen {
				still = 0
			} else if still++; still >= 2 {
				// Blocked in one read for two periods: pause.
				t.clock.stop()
				t.paused.Store(true)
				if t.epoch.Load() != e || t.state.Load() != tokRecv {
					signal(t.watchCh) // the read ended meanwhile: resume
				}
				select {
				case <-t.watchCh:
				case <-t.bgCh:
				case <-t.closing:
				case <-t.ended:
				}
				t.paused.Store(false)
				t.clock.start(watchPeriod)
				seen, still, ticked = t.epoch.Load(), 0, false
				continue
			}
		}
		seen = e
		t.clock.wait()
		ticked = true
	}
}

// clearDeadline removes a deadline set to interrupt a read. Call with t.mu
// held.
func (t *readToken) clearDeadline() {
	if t.deadline {
		_ = t.tr.rd.SetReadDeadline(time.Time{})
		t.deadline = false
	}
}

// dropDeadline removes any read deadline, whoever set it.
func (t *readToken) dropDeadline() {
	t.mu.Lock()
	t.deadline = true
	t.clearDeadline()
	t.mu.Unlock()
}

// takeForRecv is a Recv call with nothing queued asking for the token: it
// reports true if the caller now holds it and must read (tokIdle →
// tokRecv). Otherwise, if the background reader holds it, its read is
// interrupted and it is asked to lend the token (the caller then waits, and
// is woken through lentCh).
func (t *readToken) takeForRecv() bool {
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
				_ = t.tr.rd.SetReadDeadline(aLongTimeAgo)
				t.deadline = true
				signal(t.wantCh)
			}
			t.mu.Unlock()
		}
	}
	return false
}

// recvDone is the Recv call that read giving the token back to Recv calls
// (tokRecv → tokIdle).
func (t *readToken) recvDone() {
	t.state.CompareAndSwap(tokRecv, tokIdle)
	if t.paused.Load() {
		signal(t.watchCh)
	}
	if t.waiters.Load() > 0 {
		signal(t.lentCh)
	}
}

// reclaim gives a lent token back to the background reader at once
// (tokIdle → tokBG): for waits on internal replies (a handle's ACK, a
// cluster answer) that must not depend on the caller calling Recv. It
// reports whether it moved the token.
func (t *readToken) reclaim() bool {
	if !t.lend || !t.state.CompareAndSwap(tokIdle, tokBG) {
		return false
	}
	signal(t.bgCh)
	t.clock.interrupt()
	return true
}

// interrupt wakes the background reader from its watch (the channel is
// closing or the stream ended).
func (t *readToken) interrupt() {
	if t.lend {
		signal(t.bgCh)
		t.clock.interrupt()
	}
}

// close ends lending (→ tokClosed): called at Close with the reader stopped.
func (t *readToken) close() {
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
}

// watchContext arranges for ctx to interrupt the read a Recv call is about
// to do, and reports false if ctx is already done. One registration
// (context.AfterFunc) serves every Recv with the same context, so a loop
// calling Recv(ctx) does not pay for one per read.
func (t *readToken) watchContext(ctx context.Context, done <-chan struct{}) bool {
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
				_ = t.tr.rd.SetReadDeadline(aLongTimeAgo)
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

// readDone ends a context-watched read: a deadline ctx set is removed.
func (t *readToken) readDone() {
	t.mu.Lock()
	t.reading = nil
	t.clearDeadline()
	t.mu.Unlock()
}
