package nodeipc

import (
	"fmt"
	"time"
)

// Serialization is the wire format of a channel. The zero value is JSON,
// Node's default.
type Serialization int

const (
	// JSON is Node's default serialization: each message is
	// JSON.stringify(message) followed by "\n".
	JSON Serialization = iota
	// Advanced is Node's serialization: 'advanced': each message is a
	// big-endian uint32 length followed by V8 ValueSerializer data.
	Advanced
)

// String returns the name Node uses: "json" or "advanced".
func (s Serialization) String() string {
	switch s {
	case JSON:
		return "json"
	case Advanced:
		return "advanced"
	}
	return fmt.Sprintf("Serialization(%d)", int(s))
}

// UnmarshalText parses "json" (or "") and "advanced", the values Node
// accepts for the serialization option and NODE_CHANNEL_SERIALIZATION_MODE.
func (s *Serialization) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "json":
		*s = JSON
	case "advanced":
		*s = Advanced
	default:
		return fmt.Errorf("nodeipc: unknown serialization %q (want json or advanced)", b)
	}
	return nil
}

// MarshalText returns the name Node uses: "json" or "advanced".
func (s Serialization) MarshalText() ([]byte, error) {
	if s != JSON && s != Advanced {
		return nil, fmt.Errorf("nodeipc: unknown serialization %d", int(s))
	}
	return []byte(s.String()), nil
}

// Defaults used when an Options field is zero.
const (
	// DefaultMaxMessageSize is the largest message accepted by default:
	// 256 MiB. Node has no limit of its own; 50 MB messages are real.
	DefaultMaxMessageSize = 256 << 20
	// DefaultSendQueueSize is how many bytes Send queues ahead of the
	// socket before it blocks: 1 MiB (several socket buffers' worth).
	DefaultSendQueueSize = 1 << 20
	// DefaultCloseTimeout bounds how long Close waits for queued messages
	// to reach the socket: 5 seconds.
	DefaultCloseTimeout = 5 * time.Second
)

// Options tune a Channel. A nil *Options means the defaults; the library
// never modifies the caller's Options.
type Options struct {
	// Serialization is the wire format. Start passes it to the child in
	// NODE_CHANNEL_SERIALIZATION_MODE; FromEnv ignores it and uses the mode
	// the parent chose.
	Serialization Serialization

	// MaxMessageSize is the largest incoming message, in bytes, without
	// the trailing newline (json) or the length prefix (advanced). A larger
	// message is skipped and reported as a *ProtocolError wrapping
	// ErrMessageTooLarge. Zero means DefaultMaxMessageSize.
	MaxMessageSize int

	// SendQueueSize is how many bytes of encoded messages Send may queue
	// ahead of the socket before it blocks (a single larger message is
	// always accepted into an empty queue). Zero means
	// DefaultSendQueueSize.
	SendQueueSize int

	// CloseTimeout bounds how long Close waits for queued messages to be
	// written before it closes the socket anyway. Zero means
	// DefaultCloseTimeout; a negative value means Close does not wait.
	CloseTimeout time.Duration
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.SendQueueSize <= 0 {
		c.SendQueueSize = DefaultSendQueueSize
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	return c
}
