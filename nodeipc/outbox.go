package nodeipc

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// smallFrame is the largest frame that is copied into the coalescing buffer;
// larger frames are queued as they are, without a copy.
const smallFrame = 32 << 10

// coalesceSize bounds one coalescing buffer: about a socket send buffer,
// since one write moves no more than that anyway. Full buffers are queued
// as segments, and drained ones of exactly this capacity are reused.
const coalesceSize = 256<<10 + smallFrame

// outbox holds encoded frames between Send and the socket, and owns the
// writer goroutine (run) that writes them.
//
// Small frames are appended to one coalescing buffer, so a burst of messages
// leaves in one write; large frames are queued as their own segment and
// written with writev, without a copy. The writer takes everything queued at
// once, so a lone message leaves as soon as the writer wakes.
type outbox struct {
	mu       sync.Mutex
	segs     [][]byte // queued segments, in order, before small
	small    []byte   // coalescing buffer, after segs
	queued   int      // bytes in segs and small
	limit    int
	writing  bool
	stopped  bool  // no new messages accepted (closing)
	err      error // sticky: the writer stopped
	enqueued int64 // total bytes ever queued
	written  int64 // total bytes ever taken and written (or dropped on error)

	// Handle passing. A handle message is written alone, with its fd, and
	// everything queued after it waits for the peer's ACK or NACK (Node's
	// rule); the channel's own ACK/NACK replies jump the queue.
	ctl      []byte        // our NODE_HANDLE_ACK/NACK replies: written first, always
	handles  []*handleSend // handle messages behind the head, each with its tail
	held     int           // bytes in handles (frames and tails)
	inflight *handleSend   // written, waiting for the peer's ACK or NACK
	resend   bool          // inflight was NACKed: write it again

	wakeCh     chan struct{} // cap 1: there is work, or the writer must exit
	progressCh chan struct{} // closed after each batch when waiters exist
	waiters    bool

	free [][]byte // drained coalescing buffers, for reuse

	tr      *transport
	closing <-chan struct{} // the channel's: closed when Close starts

	// Deferred wake-ups: while the read token is lent to a Recv caller,
	// that caller is handling what it received and will call Recv again;
	// Send then leaves the writer asleep and the next Recv writes the batch
	// itself before it reads (writeDeferred). recv is nil when the channel
	// never lends the token.
	recv     recvSide
	deferred bool     // a wake-up was skipped
	spare    [][]byte // recycled backing array for segs (writeDeferred)
}

// recvSide is what the outbox asks the receiving side of its channel when it
// decides whether a Send may leave its message for the next Recv call.
type recvSide interface {
	// recvWillReturn reports whether the read token is lent to Recv calls
	// and none is reading: the caller is busy with what it received and
	// will call Recv again.
	recvWillReturn() bool
	// backlog reports whether received messages wait for Recv.
	backlog() bool
}

// getFree returns an empty coalescing buffer. Call with q.mu held.
func (q *outbox) getFree() []byte {
	if n := len(q.free); n > 0 {
		b := q.free[n-1]
		q.free[n-1] = nil
		q.free = q.free[:n-1]
		return b
	}
	return make([]byte, 0, coalesceSize)
}

func (q *outbox) init(limit int, tr *transport, closing <-chan struct{}, recv recvSide) {
	q.limit = limit
	q.tr, q.closing, q.recv = tr, closing, recv
	q.wakeCh = make(chan struct{}, 1)
}

func (q *outbox) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

// progress returns a channel closed at the writer's next progress (a batch
// written, an error, or exit). Call with q.mu held.
func (q *outbox) progress() chan struct{} {
	if !q.waiters {
		q.progressCh = make(chan struct{})
		q.waiters = true
	}
	return q.progressCh
}

// notify wakes everyone waiting for progress. Call with q.mu held.
func (q *outbox) notify() {
	if q.waiters {
		close(q.progressCh)
		q.waiters = false
	}
}

// enqueue queues frame. A frame of up to smallFrame bytes is copied (the
// caller may reuse it); a larger one is kept as it is.
func (q *outbox) enqueue(ctx context.Context, frame []byte) error {
	q.mu.Lock()
	for {
		if q.err != nil {
			err := q.err
			q.mu.Unlock()
			return err
		}
		if q.stopped {
			q.mu.Unlock()
			return errClosed
		}
		if q.queued+q.held == 0 || q.queued+q.held+len(frame) <= q.limit {
			break
		}
		ch := q.progress()
		deferred := q.deferred
		q.deferred = false
		q.mu.Unlock()
		if deferred {
			q.wake() // the queue is full: it cannot wait for the next Recv
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-q.closing:
			return errClosed
		}
		q.mu.Lock()
	}
	wasEmpty := q.queued == 0
	if len(q.handles) > 0 {
		// Behind a handle that is not written yet: keep the order.
		hs := q.handles[len(q.handles)-1]
		hs.tail = append(hs.tail, frame...)
		q.held += len(frame)
	} else if len(frame) <= smallFrame {
		if q.small == nil {
			q.small = q.getFree()
		} else if len(q.small)+len(frame) > coalesceSize {
			q.segs = append(q.segs, q.small)
			q.small = q.getFree()
		}
		q.small = append(q.small, frame...)
	} else {
		if len(q.small) > 0 {
			q.segs = append(q.segs, q.small)
			q.small = nil
		}
		q.segs = append(q.segs, frame)
	}
	q.queued += len(frame)
	q.enqueued += int64(len(frame))
	wake := wasEmpty && !q.writing
	if q.recv != nil && (wake || q.deferred) && q.recv.recvWillReturn() {
		q.deferred = true
		wake = false
		// Write now when enough is waiting for the peer to start on, or
		// when nothing received is waiting for the caller: then it may not
		// come back to Recv soon.
		if (q.queued >= flushEarly || !q.recv.backlog()) && !q.writing {
			q.mu.Unlock()
			q.writeDeferred()
			return nil
		}
	}
	q.mu.Unlock()
	if wake {
		q.wake()
	}
	return nil
}

// flush waits until every byte queued before the call has been written.
func (q *outbox) flush(ctx context.Context) error {
	q.wake() // in case its wake-up was deferred
	q.mu.Lock()
	target := q.enqueued
	for q.written < target && q.err == nil {
		ch := q.progress()
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	err := q.err
	q.mu.Unlock()
	return err
}

// stopAccepting makes later Sends fail with errClosed.
func (q *outbox) stopAccepting() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
}

// fail records err as the writer's sticky error, drops what is queued and
// wakes everyone. The first error wins.
func (q *outbox) fail(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.segs = nil
	q.small = nil
	q.written += int64(q.queued + q.held)
	q.queued = 0
	q.held = 0
	hs := q.handles
	q.handles = nil
	if q.inflight != nil {
		hs = append(hs, q.inflight)
		q.inflight = nil
	}
	err = q.err
	q.notify()
	q.mu.Unlock()
	q.wake()
	for _, h := range hs {
		if !h.withdrawn {
			h.finish(err)
		}
	}
}

// run is the writer goroutine: it takes everything queued and writes it
// with as few system calls as possible, until the channel closes or a write
// fails.
func (q *outbox) run() {
	var batch net.Buffers // segments being written
	var segs [][]byte     // recycled backing array for q.segs
	for {
		q.mu.Lock()
		for !q.ready() || q.writing { // writing: a Recv call writes (writeDeferred)
			q.notify()
			if q.err != nil {
				q.mu.Unlock()
				return
			}
			select {
			case <-q.closing:
				q.mu.Unlock()
				return
			default:
			}
			q.mu.Unlock()
			select {
			case <-q.wakeCh:
			case <-q.closing:
			}
			q.mu.Lock()
		}
		if q.queued == 0 || q.inflight != nil || len(q.ctl) > 0 {
			// Handle traffic: one step of it.
			q.mu.Unlock()
			if err := q.writeHandleStep(); err != nil {
				q.fail(classifyIOError(err))
				return
			}
			continue
		}
		if len(q.small) > 0 {
			q.segs = append(q.segs, q.small)
			q.small = nil
		}
		batch = append(batch[:0], q.segs...)
		clear(q.segs)
		q.segs, segs = segs[:0], q.segs
		n := q.queued
		q.queued = 0
		q.writing = true
		q.notify() // senders blocked on a full queue may go on
		q.mu.Unlock()

		bufs := batch // WriteTo consumes its receiver; keep batch's array
		err := q.tr.writeBuffers(&bufs)

		q.mu.Lock()
		q.writing = false
		q.written += int64(n)
		for _, b := range batch {
			if cap(b) == coalesceSize && len(q.free) < 4 {
				q.free = append(q.free, b[:0])
			}
		}
		clear(batch)
		q.notify()
		q.mu.Unlock()
		if err != nil {
			q.fail(classifyIOError(err))
			return
		}
	}
}

// flushEarly is how many deferred bytes Send lets build up before it
// writes them itself, so the peer can start on them while more follow.
const flushEarly = 512

// writeDeferred writes what Send queued while its wake-up was deferred, from
// a Recv call holding the read token just before it reads: one non-blocking
// write, so the messages need not cross to the writer goroutine. What the
// socket does not take now is left to the writer, and so is handle traffic.
func (q *outbox) writeDeferred() {
	q.mu.Lock()
	if !q.deferred {
		q.mu.Unlock()
		return
	}
	q.deferred = false
	if q.writing || q.queued == 0 || q.inflight != nil || len(q.ctl) > 0 || len(q.handles) > 0 || q.err != nil {
		q.mu.Unlock()
		q.wake()
		return
	}
	if len(q.small) > 0 {
		q.segs = append(q.segs, q.small)
		q.small = nil
	}
	batch := q.segs
	q.segs = q.spare[:0]
	q.spare = nil
	total := q.queued
	q.queued = 0
	q.writing = true
	q.mu.Unlock()

	n, _ := q.tr.tryWrite(batch) // an error is met again by the writer

	q.mu.Lock()
	q.writing = false
	if q.err != nil { // failed meanwhile: the batch counts as dropped
		q.written += int64(total)
		q.notify()
		q.mu.Unlock()
		return
	}
	q.written += int64(n)
	rest := batch
	for len(rest) > 0 && n >= len(rest[0]) {
		b := rest[0]
		n -= len(b)
		if cap(b) == coalesceSize && len(q.free) < 4 {
			q.free = append(q.free, b[:0])
		}
		rest = rest[1:]
	}
	if len(rest) > 0 {
		// The socket is full (or the write failed): the rest goes first,
		// and the writer writes it (or meets the error and reports it).
		rest[0] = rest[0][n:]
		segs := make([][]byte, 0, len(rest)+len(q.segs))
		segs = append(segs, rest...)
		q.segs = append(segs, q.segs...)
		for _, b := range rest {
			q.queued += len(b)
		}
	} else {
		clear(batch)
		q.spare = batch[:0]
	}
	more := q.queued > 0 || len(q.ctl) > 0 || len(q.handles) > 0
	q.notify()
	q.mu.Unlock()
	if more {
		q.wake()
	}
}

// ready reports whether the writer has something to write. Call with q.mu
// held.
func (q *outbox) ready() bool {
	if q.inflight != nil {
		return len(q.ctl) > 0 || q.resend
	}
	return q.queued > 0 || len(q.ctl) > 0 || len(q.handles) > 0
}

// writeHandleStep does one step of handle traffic: write our ACK/NACK
// replies, or write the in-flight handle again after a NACK, or start the
// next queued handle (the head is empty, nothing is in flight).
func (q *outbox) writeHandleStep() error {
	q.mu.Lock()
	if len(q.ctl) > 0 {
		ctl := q.ctl
		q.ctl = nil
		q.writing = true
		q.mu.Unlock()
		err := q.tr.writeBuffers(&net.Buffers{ctl})
		q.mu.Lock()
		q.writing = false
		q.mu.Unlock()
		return err
	}
	if q.inflight != nil {
		if !q.resend {
			q.mu.Unlock()
			return nil
		}
		q.resend = false
		h := q.inflight
		q.writing = true
		q.mu.Unlock()
		err := q.tr.writeHandle(h)
		q.mu.Lock()
		q.writing = false
		q.mu.Unlock()
		return err
	}
	if len(q.handles) == 0 || q.queued > 0 {
		q.mu.Unlock()
		return nil
	}
	h := q.handles[0]
	q.handles[0] = nil
	q.handles = q.handles[1:]
	q.held -= len(h.frame) + len(h.tail)
	// What was queued behind the handle becomes the head, still held back
	// until the ACK.
	if len(h.tail) > 0 {
		q.small = h.tail
		q.queued = len(h.tail)
		h.tail = nil
	}
	if h.withdrawn {
		q.written += int64(len(h.frame))
		q.notify()
		q.mu.Unlock()
		return nil
	}
	q.inflight = h
	h.tries = 1
	q.writing = true
	q.mu.Unlock()
	err := q.tr.writeHandle(h)
	q.mu.Lock()
	q.writing = false
	q.written += int64(len(h.frame))
	q.notify()
	q.mu.Unlock()
	return err
}

// enqueueHandle queues a handle message; its fd is closed on error.
func (q *outbox) enqueueHandle(h *handleSend) error {
	q.mu.Lock()
	var err error
	switch {
	case q.err != nil:
		err = q.err
	case q.stopped:
		err = errClosed
	}
	if err != nil {
		q.mu.Unlock()
		closeFD(h.fd)
		return err
	}
	if len(q.small) > 0 && len(q.handles) == 0 {
		// Keep the head apart: the handle must not share a write with it.
		q.segs = append(q.segs, q.small)
		q.small = nil
	}
	q.handles = append(q.handles, h)
	q.held += len(h.frame)
	q.enqueued += int64(len(h.frame))
	q.mu.Unlock()
	q.wake()
	return nil
}

// withdraw takes back a handle message that is not written yet, and
// reports whether it could.
func (q *outbox) withdraw(h *handleSend) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, x := range q.handles {
		if x == h {
			h.withdrawn = true
			h.mu.Lock()
			closeFD(h.fd)
			h.fd = -1
			h.mu.Unlock()
			return true
		}
	}
	return false
}

// enqueueCtl queues one of our ACK/NACK replies ahead of everything else.
func (q *outbox) enqueueCtl(frame []byte) {
	q.mu.Lock()
	if q.err != nil {
		q.mu.Unlock()
		return
	}
	q.ctl = append(q.ctl, frame...)
	q.mu.Unlock()
	q.wake()
}

// handleReply settles the in-flight handle with the peer's ACK or NACK. It
// reports false when no handle was in flight (an unsolicited reply).
func (q *outbox) handleReply(nack bool) bool {
	q.mu.Lock()
	h := q.inflight
	if h == nil {
		q.mu.Unlock()
		return false
	}
	if nack && h.tries <= maxRetransmissions {
		h.tries++
		q.resend = true
		q.mu.Unlock()
		q.wake()
		return true
	}
	q.inflight = nil
	q.resend = false
	q.mu.Unlock()
	q.wake()
	if nack {
		h.finish(fmt.Errorf("%w: NACKed %d times", ErrHandleNotAccepted, h.tries))
	} else {
		h.finish(nil)
	}
	return true
}
