package nodeipc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Message is one user message received from the peer. It keeps the bytes
// as they arrived until the caller decodes them, so a message can be
// forwarded untouched or decoded into the type the caller needs.
type Message struct {
	data []byte // JSON text (trimmed, no newline) or V8 payload (from FF)
	mode Serialization

	handle *handleSlot // set before delivery when a handle came with it
	ck     *chunk      // the memory data lives in, shared with other messages of its read; nil if its own
}

// handleSlot holds a received handle until someone takes it. It lives
// outside Message to keep messages without handles small.
type handleSlot struct{ h atomic.Pointer[Handle] }

// Handle returns the handle (a socket, server, UDP socket or pipe) that
// came with the message, and transfers it to the caller, who must close it
// or send it on. It returns nil if the message came without a handle, and
// on every call after the first.
//
// Take the handle before calling Recv again: a handle still in its message
// at the next Recv call on the channel, or at Close, is closed by the
// channel, so no fd is ever leaked. For a message with a handle, Raw and
// Decode see the user's message (the msg of Node's NODE_HANDLE envelope;
// null when Node sent undefined).
func (m *Message) Handle() *Handle {
	if m.handle == nil {
		return nil
	}
	return m.handle.h.Swap(nil)
}

// dropHandle closes the message's handle if no one took it.
func (m *Message) dropHandle() {
	if h := m.handle.h.Swap(nil); h != nil {
		h.Close()
	}
}

// Raw returns the message's bytes as they arrived: the JSON text without
// the surrounding whitespace and newline in json mode, or the V8
// serialization payload (starting with the FF version header, without the
// length prefix) in advanced mode. The slice belongs to the Message.
func (m *Message) Raw() []byte { return m.data }

// errReleased is what Decode and AppendJSON return for a released message.
var errReleased = errors.New("nodeipc: the message was released")

// Release gives the message's memory back to the channel for reuse, and
// closes the message's handle if nobody took it. It is optional: a message
// not released is garbage collected as usual. A receiver that decodes each
// message and then drops it (the common loop of Recv, Decode, handle) can
// call Release after Decode, so that the bytes of the next messages are not
// allocated anew; at high message rates this spares the garbage collector
// most of the channel's own allocation.
//
// After Release the message is empty (Raw returns nil; Decode, AppendJSON
// and String report that it was released), and a slice obtained from Raw
// before must no longer be used: its bytes will hold later messages.
// Values that Decode produced do not share the message's memory and stay
// valid. Release is idempotent.
func (m *Message) Release() {
	if m.handle != nil {
		m.dropHandle()
	}
	ck := m.ck
	m.data, m.ck = nil, nil
	if ck != nil {
		ck.release()
	}
}

// Serialization returns the wire format the message arrived in.
func (m *Message) Serialization() Serialization { return m.mode }

// Decode decodes the message into v, which must be a non-nil pointer. In
// json mode it follows encoding/json's rules (struct tags included); decoding
// into a *json.RawMessage copies the raw text. In advanced mode see
// PROTOCOL.md for how JavaScript values map to Go values.
func (m *Message) Decode(v any) error {
	if m.data == nil {
		return errReleased
	}
	if m.mode == Advanced {
		return decodeV8(m.data, v)
	}
	return decodeJSON(m.data, v)
}

// String returns the message as JSON text (see AppendJSON), or a
// description of the error if an advanced message cannot be decoded.
func (m *Message) String() string {
	b, err := m.AppendJSON(nil)
	if err != nil {
		return "<undecodable message: " + err.Error() + ">"
	}
	return string(b)
}

// recvItem is a message or a non-fatal error, in arrival order.
type recvItem struct {
	m   *Message
	err error
}

// Bounds of the receive queue: past them the reader stops reading, and the
// peer's writes wait in the kernel's socket buffer.
const (
	recvQueueItems = 8192
	recvQueueBytes = 64 << 20
)

// recvQueue hands messages from the reader goroutine to Recv.
type recvQueue struct {
	mu    sync.Mutex
	items []recvItem
	head  int
	bytes int
	end   error         // set once: why no more items will come
	last  *Message      // the last message returned that had a handle
	sig   chan struct{} // cap 1: items may be available
	space chan struct{} // cap 1: the consumer took items
	ended chan struct{} // closed when end is set

	waiting atomic.Int32 // Recv calls blocked in wait
	avail   atomic.Int64 // items queued and not taken
}

func (q *recvQueue) init() {
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
func (q *recvQueue) push(items []recvItem) {
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
func (q *recvQueue) waitSpace(closing, want <-chan struct{}) bool {
	for {
		q.mu.Lock()
		over := len(q.items)-q.head > recvQueueItems || q.bytes > recvQueueBytes
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
func (q *recvQueue) finish(err error) bool {
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
func (q *recvQueue) dropHandles() {
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
func (q *recvQueue) take(closing <-chan struct{}) (m *Message, err error, ok bool) {
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
func (q *recvQueue) wait(ctx context.Context, closing, lent <-chan struct{}) error {
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
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
