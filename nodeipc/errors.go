package nodeipc

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Test for them with errors.Is; the library wraps them with
// context (the fd, the variable, the offset) using %w.
var (
	// ErrNoChannel means the process was not started with an IPC channel:
	// NODE_CHANNEL_FD is unset or empty.
	ErrNoChannel = errors.New("nodeipc: no IPC channel (NODE_CHANNEL_FD is not set)")

	// ErrInvalidChannel means NODE_CHANNEL_FD or NODE_CHANNEL_SERIALIZATION_MODE
	// names something that cannot be a channel: an fd that is not open, not a
	// Unix stream socket (on Windows: not a pipe opened for overlapped I/O),
	// or an unknown serialization mode.
	ErrInvalidChannel = errors.New("nodeipc: invalid IPC channel")

	// ErrDisconnected is the end of the channel: the peer closed it (EOF), or
	// left while we were writing (EPIPE, ECONNRESET). Every message received
	// before the end has been delivered when Recv returns it.
	ErrDisconnected = errors.New("nodeipc: channel disconnected")

	// ErrMessageTooLarge means a message is over the size limit: an incoming
	// line or frame over Options.MaxMessageSize, or an outgoing advanced frame
	// of 2 GiB or more, which Node cannot read.
	ErrMessageTooLarge = errors.New("nodeipc: message too large")

	// ErrInvalidMessage means bytes that are not a valid message: invalid
	// JSON, an empty line, invalid UTF-8, malformed V8 serialization data, or
	// (when sending) a value that would crash or confuse a Node peer.
	ErrInvalidMessage = errors.New("nodeipc: invalid message")
)

// ProtocolError describes bad input on the wire: what was wrong, and where.
// Err is ErrInvalidMessage, ErrMessageTooLarge or io.ErrUnexpectedEOF (the
// peer closed in the middle of a message), possibly wrapped with detail.
//
// A ProtocolError from Recv is not fatal: the offending message was skipped
// and the next Recv returns the next message (see PROTOCOL.md, "Bad input").
type ProtocolError struct {
	// Op is what the library was doing: "read" or "decode".
	Op string
	// Offset is the byte offset in the incoming stream where the bad message
	// starts (the first byte after the previous message), or -1 if unknown.
	Offset int64
	// Reason says what was wrong, e.g. "empty line" or "invalid UTF-8 at byte 7".
	Reason string
	// Excerpt is up to 64 bytes from the start of the bad message.
	Excerpt []byte
	// Err is the sentinel (or wrapped cause) that classifies the failure.
	Err error
}

// Error formats the error with its offset, reason and a quoted excerpt.
func (e *ProtocolError) Error() string {
	b := []byte("nodeipc: ")
	if e.Op != "" {
		b = append(b, e.Op...)
		b = append(b, ' ')
	}
	if e.Offset >= 0 {
		b = append(b, "at offset "...)
		b = strconv.AppendInt(b, e.Offset, 10)
		b = append(b, ": "...)
	}
	if e.Reason != "" {
		b = append(b, e.Reason...)
	} else if e.Err != nil {
		b = append(b, e.Err.Error()...)
	}
	if len(e.Excerpt) > 0 {
		b = append(b, " (starts "...)
		b = strconv.AppendQuote(b, string(e.Excerpt))
		b = append(b, ')')
	}
	return string(b)
}

// Unwrap returns Err.
func (e *ProtocolError) Unwrap() error { return e.Err }

var _ error = (*ProtocolError)(nil)

const excerptLen = 64

func excerpt(b []byte) []byte {
	if len(b) > excerptLen {
		b = b[:excerptLen]
	}
	return append([]byte(nil), b...)
}

func protoErr(op string, off int64, msg []byte, err error, format string, args ...any) *ProtocolError {
	return &ProtocolError{Op: op, Offset: off, Reason: fmt.Sprintf(format, args...), Excerpt: excerpt(msg), Err: err}
}
