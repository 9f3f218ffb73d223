package nodeipc

import (
	"context"
	"sync"
	"sync/atomic"
)

// recvItem is a message or a non-fatal error, in arrival order.
type recvItem struct {
	m   *Message
	err error
}

// Bounds of the receive queue: past them the reader stops reading, and the
// peer's writes wait in the kernel's socket buffer.
const (
	inboxItems = 8192
	inboxBytes = 64 << 20
)

// inbox holds received messages and non-fatal errors, in arrival order,
// between whoever read them (the background reader or a Recv call holding
// the read token) and Recv.
type inbox struct {
	mu    sync.Mutex
	items []recvItem
	head  int
	bytes int
	end   error         // set once: why no more items will come
	last  *Message      // the last message returned that had a handle
	sig   chan struct{} // cap 1: items may be available
	space chan struct{} // cap 1: the consumer took items
	ended chan struct{} // closed when end is set

	avail atomic.Int64 // items queued and not taken
}

func (q *inbox) init() {
	q.sig = make(chan struct{}, 1)
	q.space = make(chan struct{}, 1)
	q.ended = make(chan struct{})
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func itemSize(it recvItem) int {
	if it.m != nil {
		return len(it.m.data)
	}
	return 0
}

// push appends items and signals Recv. The reader waits with waitSpace
// before its next read while the queue is over its bounds.
func (q *inbox) push(items []recvItem) {
	q.mu.Lock()
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	for _, it := range items {
		q.bytes += itemSize(it)
	}
	q.items = append(q.items, items...)
	q.avail.Add(int64(len(items)))
	q.mu.Unlock()
	signal(q.sig)
}

// waitSpace waits while the queue is over its bounds. It returns false if
// the channel is closing, and true early when want is signalled (a Recv
// caller wants the read token, which it only does with an empty queue).
func (q *inbox) waitSpace(closing, want <-chan struct{}) bool {
	for {
		q.mu.Lock()
		over := len(q.items)-q.head > inboxItems || q.bytes > inboxBytes
		q.mu.Unlock()
		if !over {
			return true
		}
		select {
		case <-q.space:
		case <-want:
			return true
		case <-closing:
			return false
		}
	}
}

// finish records why the stream ended; Recv returns it after the queue
// drains. It reports whether this call was the first.
func (q *inbox) finish(err error) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end != nil {
		return false
	}
	q.end = err
	close(q.ended)
	return true
}

// dropHandles closes every handle not taken: of the queued messages and of
// the last one returned. The channel calls it at Close, after the reader
// has stopped.
func (q *inbox) dropHandles() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items[q.head:] {
		if it.m != nil && it.m.handle != nil {
			it.m.dropHandle()
		}
	}
	if q.last != nil {
		q.last.dropHandle()
		q.last = nil
	}
}

// take returns the next queued item, or the end of the stream once the
// queue is drained, or errClosed; ok is false when nothing is queued and the
// stream goes on.
func (q *inbox) take(closing <-chan struct{}) (m *Message, err error, ok bool) {
	select {
	case <-closing:
		return nil, errClosed, true
	default:
	}
	q.mu.Lock()
	if last := q.last; last != nil {
		// The previous message's handle was not taken: close it.
		q.last = nil
		q.mu.Unlock()
		last.dropHandle()
		q.mu.Lock()
	}
	if q.head < len(q.items) {
		it := q.items[q.head]
		q.items[q.head] = recvItem{}
		q.head++
		q.bytes -= itemSize(it)
		q.avail.Add(-1)
		more := q.head < len(q.items)
		if !more {
			q.items = q.items[:0]
			q.head = 0
		}
		if it.m != nil && it.m.handle != nil {
			q.last = it.m
		}
		q.mu.Unlock()
		if more {
			signal(q.sig)
		}
		signal(q.space)
		return it.m, it.err, true
	}
	end := q.end
	q.mu.Unlock()
	if end != nil {
		return nil, end, true
	}
	return nil, nil, false
}

// wait blocks until items may be available, the stream ends, the read
// token is lent to Recv callers (lent), or ctx or the channel is done.
func (q *inbox) wait(ctx context.Context, closing, lent <-chan struct{}) error {
	select {
	case <-q.sig:
	case <-q.ended:
	case <-lent:
	case <-closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
