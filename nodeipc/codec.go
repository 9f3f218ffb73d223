package nodeipc

// The channel's codecs: how Send encodes a value and Message.Decode decodes
// one in each serialization, on top of internal/jsontext (JSON) and v8
// (advanced), with their errors turned into this package's.

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"strings"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/v8"
)

// jsonEncoder is a reusable JSON encoder for frames. The zero value is
// ready to use.
type jsonEncoder struct{ e jsontext.Encoder }

func newJSONEncoder() *jsonEncoder { return new(jsonEncoder) }

// appendJSONLine appends the JSON text of v and a final "\n" to dst, the
// way JSON.stringify writes it (see jsontext.Encoder.Append). The values
// decoding into an any gives (an *jsvalue.Object, []any) are written by
// jsvalue.AppendStringify, in their order. Errors wrap ErrInvalidMessage.
func appendJSONLine(dst []byte, v any) ([]byte, error) {
	return (*jsonEncoder)(nil).appendLine(dst, v)
}

// appendLine is appendJSONLine with e's encoder, if e is not nil.
func (e *jsonEncoder) appendLine(dst []byte, v any) ([]byte, error) {
	var out []byte
	var err error
	switch v.(type) {
	case *jsvalue.Object, []any:
		out, err = jsvalue.AppendStringify(dst, v)
	default:
		if e == nil {
			out, err = jsontext.Append(dst, v)
		} else {
			out, err = e.e.Append(dst, v)
		}
	}
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return append(out, '\n'), nil
}

// decodeJSON decodes the JSON text b of a received message into v: the
// text itself for a *json.RawMessage, and otherwise jsvalue.DecodeJSON's
// rules (the value model for an *any).
func decodeJSON(b []byte, v any) error {
	if raw, ok := v.(*stdjson.RawMessage); ok && raw != nil {
		*raw = append((*raw)[:0], b...)
		return nil
	}
	if err := jsvalue.DecodeJSON(b, v); err != nil {
		return fmt.Errorf("nodeipc: decode: %w", err)
	}
	return nil
}

// jsonInternalCmd reports whether the JSON text b is an object whose "cmd"
// property is a string that Node treats as internal (see isInternalCmd),
// and returns it.
func jsonInternalCmd(b []byte) (string, bool) {
	if len(b) == 0 || b[0] != '{' {
		return "", false
	}
	// Cheap filter: a key spelled "cmd", or any escape that could spell it.
	if !bytes.Contains(b, []byte(`"cmd"`)) && !bytes.Contains(b, []byte(`\u`)) {
		return "", false
	}
	// Decode the top level into exact keys: JS keys are case-sensitive
	// (struct decoding is not), the last duplicate wins as in JSON.parse,
	// and escaped spellings such as "c\u006dd" are unescaped.
	var top map[string]stdjson.RawMessage
	if err := jsontext.Unmarshal(b, &top); err != nil {
		return "", false
	}
	raw := top["cmd"]
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	var cmd string
	if err := jsontext.Unmarshal(raw, &cmd); err != nil {
		return "", false
	}
	return cmd, isInternalCmd(cmd)
}

// isInternalCmd is Node's isInternal rule: a string longer than 5 characters
// that starts with "NODE_". (Any byte after the ASCII prefix is at least one
// more UTF-16 code unit, so the byte length tells.)
func isInternalCmd(cmd string) bool {
	return len(cmd) > 5 && strings.HasPrefix(cmd, "NODE_")
}

// AppendJSON appends the message as one line of JSON text (without a
// newline). In json mode that is the message as it arrived. In advanced mode
// it is the JSON view of the decoded value (see jsvalue.AppendJSON): JSON
// where JSON can say it, and a tagged object {"$js": "Map", ...} where it
// cannot; jsvalue.FromJSON turns such text back into the same values.
func (m *Message) AppendJSON(dst []byte) ([]byte, error) {
	if m.data == nil {
		return dst, errReleased
	}
	if m.mode == JSON {
		return append(dst, m.data...), nil
	}
	var v any
	if err := m.Decode(&v); err != nil {
		return dst, err
	}
	out, err := jsvalue.AppendJSON(dst, v)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return out, nil
}

// jsonObject is how the library builds its own internal messages.
type jsonObject = map[string]any

// appendV8 appends the V8 serialization of v (header included, no length
// prefix). Errors wrap ErrInvalidMessage, or ErrMessageTooLarge for a value
// of 2 GiB or more.
func appendV8(dst []byte, v any) ([]byte, error) {
	out, err := v8.Append(dst, v)
	if err != nil {
		if errors.Is(err, v8.ErrTooLarge) {
			return dst, fmt.Errorf("%w: %w", ErrMessageTooLarge, err)
		}
		return dst, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return out, nil
}

// decodeV8 decodes the V8-serialized payload into v. Bad input is a
// *ProtocolError with Op "decode", the offset in payload, and Err
// ErrInvalidMessage (ErrMessageTooLarge for a payload of 2 GiB or more).
func decodeV8(payload []byte, v any) error {
	err := v8.Unmarshal(payload, v)
	if err == nil {
		return nil
	}
	var e *v8.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("nodeipc: decode: %w", err)
	}
	sentinel := ErrInvalidMessage
	if errors.Is(e.Err, v8.ErrTooLarge) {
		sentinel = ErrMessageTooLarge
	}
	return protoErr("decode", int64(e.Offset), payload, sentinel, "%s", e.Reason)
}

// v8InternalCmd reports whether the V8 payload is an object whose "cmd"
// property is a string Node treats as internal (see isInternalCmd), and
// returns it. It allocates nothing for other messages.
func v8InternalCmd(payload []byte) (string, bool) {
	var buf [32]byte
	cmd, ok := v8.AppendStringProperty(buf[:0], payload, "cmd")
	if !ok || len(cmd) <= 5 || string(cmd[:5]) != "NODE_" {
		return "", false
	}
	return string(cmd), true
}
