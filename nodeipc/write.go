package nodeipc

import (
	"context"
	"net"
	"sync"
)

// smallFrame is the largest frame that is copied into the coalescing buffer;
// larger frames are queued as they are, without a copy.
const smallFrame = 32 << 10

// sendBufs recycles the buffers messages are encoded into.
var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getSendBuf() []byte { return (*sendBufs.Get().(*[]byte))[:0] }

func putSendBuf(b []byte) {
	if cap(b) == 0 || cap(b) > 64<<10 {
		return
	}
	b = b[:0]
	sendBufs.Put(&b)
}

// writeQueue holds encoded frames between Send and the writer goroutine.
//
// Small frames are appended to one coalescing buffer, so a burst of messages
// leaves in one write; large frames are queued as their own segment and
// written with writev, without a copy. The writer takes everything queued at
// once, so a lone message leaves as soon as the writer wakes.
type writeQueue struct {
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

	wakeCh     chan struct{} // cap 1: there is work, or the writer must exit
	progressCh chan struct{} // closed after each batch when waiters exist
	waiters    bool
}

func (q *writeQueue) init(limit int) {
	q.limit = limit
	q.wakeCh = make(chan struct{}, 1)
}

func (q *writeQueue) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

// progress returns a channel closed at the writer's next progress (a batch
// written, an error, or exit). Call with q.mu held.
func (q *writeQueue) progress() chan struct{} {
	if !q.waiters {
		q.progressCh = make(chan struct{})
		q.waiters = true
	}
	return q.progressCh
}

// notify wakes everyone waiting for progress. Call with q.mu held.
func (q *writeQueue) notify() {
	if q.waiters {
		close(q.progressCh)
		q.waiters = false
	}
}

// enqueue queues frame, taking ownership of it.
func (q *writeQueue) enqueue(ctx context.Context, frame []byte, closing <-chan struct{}) error {
	q.mu.Lock()
	for {
		if q.err != nil {
			err := q.err
			q.mu.Unlock()
			putSendBuf(frame)
			return err
		}
		if q.stopped {
			q.mu.Unlock()
			putSendBuf(frame)
			return errClosed
		}
		if q.queued == 0 || q.queued+len(frame) <= q.limit {
			break
		}
		ch := q.progress()
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			putSendBuf(frame)
			return ctx.Err()
		case <-closing:
			putSendBuf(frame)
			return errClosed
		}
		q.mu.Lock()
	}
	wasEmpty := q.queued == 0
	if len(frame) <= smallFrame {
		q.small = append(q.small, frame...)
		putSendBuf(frame)
	} else {
		if len(q.small) > 0 {
			q.segs = append(q.segs, q.small)
			q.small = nil
		}
		q.segs = append(q.segs, frame)
	}
	q.queued += len(frame)
	q.enqueued += int64(len(frame))
	writing := q.writing
	q.mu.Unlock()
	if wasEmpty && !writing {
		q.wake()
	}
	return nil
}

// flush waits until every byte queued before the call has been written.
func (q *writeQueue) flush(ctx context.Context) error {
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
func (q *writeQueue) stopAccepting() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
}

// fail records err as the writer's sticky error, drops what is queued and
// wakes everyone. The first error wins.
func (q *writeQueue) fail(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.segs = nil
	q.small = nil
	q.written += int64(q.queued)
	q.queued = 0
	q.notify()
	q.mu.Unlock()
	q.wake()
}

// writeLoop is the writer goroutine: it takes everything queued and writes it
// with as few system calls as possible, until the channel closes or a write
// fails.
func (c *Channel) writeLoop() {
	defer c.wg.Done()
	q := &c.w
	var spare []byte      // a drained coalescing buffer, for reuse
	var batch net.Buffers // segments being written
	var segs [][]byte     // recycled backing array for q.segs
	for {
		q.mu.Lock()
		for q.queued == 0 {
			q.notify()
			if q.err != nil {
				q.mu.Unlock()
				return
			}
			select {
			case <-c.closing:
				q.mu.Unlock()
				return
			default:
			}
			q.mu.Unlock()
			select {
			case <-q.wakeCh:
			case <-c.closing:
			}
			q.mu.Lock()
		}
		took := q.small
		if len(took) > 0 {
			q.segs = append(q.segs, took)
			q.small = spare[:0]
			spare = nil
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
		err := c.writeBuffers(&bufs)

		q.mu.Lock()
		q.writing = false
		q.written += int64(n)
		if cap(took) > 0 && cap(took) <= 1<<20 {
			spare = took[:0]
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

// writeBuffers writes every segment, with writev where the conn supports it.
func (c *Channel) writeBuffers(b *net.Buffers) error {
	if len(*b) == 1 {
		seg := (*b)[0]
		for len(seg) > 0 {
			n, err := c.conn.Write(seg)
			if err != nil {
				return err
			}
			seg = seg[n:]
		}
		return nil
	}
	_, err := b.WriteTo(c.conn)
	return err
}
