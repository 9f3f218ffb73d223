package nodeipc

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"nodeipc.dev/nodeipc/jsvalue"
)

// Message is one user message received from the peer. It keeps the bytes
// as they arrived until the caller decodes them, so a message can be
// forwarded untouched or decoded into the type the caller needs.
type Message struct {
	data []byte // JSON text (trimmed, no newline) or V8 payload (from FF)
	mode Serialization

	handle *handleSlot // set before delivery when a handle came with it
	ck     *chunk      // the memory data lives in, shared with other messages of its read; nil if its own
	val    *msgValue   // what Value decoded, until Release
}

// msgValue is a message's value from Value, and in json mode the Parser
// whose memory holds it; Release puts it in msgValues for a later
// message's Value.
type msgValue struct {
	p *jsvalue.Parser // nil for an advanced message's value
	v any
}

var msgValues = sync.Pool{New: func() any { return &msgValue{p: new(jsvalue.Parser)} }}

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
// valid; the value Value returned does, and is no longer valid. Release is
// idempotent.
func (m *Message) Release() {
	if m.handle != nil {
		m.dropHandle()
	}
	if mv := m.val; mv != nil && mv.p != nil {
		mv.v = nil
		msgValues.Put(mv)
	}
	m.val = nil
	ck := m.ck
	m.data, m.ck = nil, nil
	if ck != nil {
		ck.release()
	}
}

// Serialization returns the wire format the message arrived in.
func (m *Message) Serialization() Serialization { return m.mode }

// Decode decodes the message into v, which must be a non-nil pointer.
//
// In both serializations an *any gets the JavaScript value model of package
// jsvalue: an *jsvalue.Object for each JavaScript object, with its keys in
// the order JavaScript gives them, []any for arrays, float64, string, bool
// and nil (and in advanced mode the values JSON has no word for: Map,
// BigInt, Date, ...). So a value decoded and sent on reaches JavaScript
// as it came, key order included. A *map[string]any asks for Go maps
// instead: it gets maps throughout, as encoding/json gives them.
//
// Other Go types follow encoding/json's rules (struct tags included) in
// json mode, where a *json.RawMessage gets a copy of the raw text, and the
// rules of package v8 in advanced mode (PROTOCOL.md §3). In json mode a []any
// target gets the value model too, but an interface field inside a struct
// is encoding/json's business and gets a map[string]any: declare it
// *jsvalue.Object to keep the key order.
func (m *Message) Decode(v any) error {
	if m.data == nil {
		return errReleased
	}
	if m.mode == Advanced {
		return decodeV8(m.data, v)
	}
	return decodeJSON(m.data, v)
}

// Value decodes the message into an any, as Decode into an *any does (the
// value model of package jsvalue, key order included), into memory that
// belongs to the message: the value, the strings in it included, is valid
// until Release, which recycles that memory for the Value of a later
// message. So a receiver that is done with each message before its next
// Recv (an echo, a router, a filter that reads a few fields and forwards
// the message) and releases it, decodes a stream of messages of one shape
// without allocating for their values in json mode, and without the
// garbage collection of values decoded anew. Use Decode for values kept
// after Release; a message never released keeps its value valid for as
// long as the value is used.
//
// Every call returns the value of the first. Value must not be called
// concurrently with itself or with Release. In advanced mode the value
// takes fresh memory, as Decode gives it, under the same contract.
func (m *Message) Value() (any, error) {
	if m.val != nil {
		return m.val.v, nil
	}
	if m.data == nil {
		return nil, errReleased
	}
	if m.mode == Advanced {
		var v any
		if err := decodeV8(m.data, &v); err != nil {
			return nil, err
		}
		// Without a Parser: a message kept unreleased must not keep the
		// memory of earlier json messages alive with it.
		m.val = &msgValue{v: v}
		return v, nil
	}
	mv := msgValues.Get().(*msgValue)
	v, err := mv.p.Parse(m.data)
	if err != nil {
		msgValues.Put(mv)
		return nil, fmt.Errorf("nodeipc: decode: %w", err)
	}
	mv.v = v
	m.val = mv
	return v, nil
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
