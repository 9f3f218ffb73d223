package nodeipc

// This file is the only one that imports the JSON library, so it can be
// swapped without touching the rest of the package.

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	json "github.com/goccy/go-json"
)

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// jsonEncoder is a reusable encoder that appends to a given slice.
type jsonEncoder struct {
	w   sliceWriter
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any { return newJSONEncoder() }}

func newJSONEncoder() *jsonEncoder {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.w)
	e.enc.SetEscapeHTML(false)
	return e
}

// appendJSONLine appends the JSON text of v and a final "\n" to dst, with
// JavaScript's semantics where Go's differ (NaN and ±Inf become null, no HTML
// escaping). A json.RawMessage is validated and sent as is (compacted only if
// it spans several lines).
func appendJSONLine(dst []byte, v any) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	out, err := e.appendLine(dst, v)
	jsonEncoders.Put(e)
	return out, err
}

// appendLine is appendJSONLine with this encoder.
func (e *jsonEncoder) appendLine(dst []byte, v any) ([]byte, error) {
	if raw, ok := v.(stdjson.RawMessage); ok {
		return appendRawJSONLine(dst, raw)
	}
	if raw, ok := v.(*stdjson.RawMessage); ok && raw != nil {
		return appendRawJSONLine(dst, *raw)
	}
	start := len(dst)
	e.w.b = dst
	err := e.enc.Encode(v) // appends "\n"
	out := e.w.b
	e.w.b = nil
	if err == nil {
		return out, nil
	}
	dst = out[:start]
	var unsupported *json.UnsupportedValueError
	if errors.As(err, &unsupported) {
		// NaN or ±Inf somewhere: JSON.stringify writes null for them.
		out, err2 := appendJSJSON(dst, v)
		if err2 != nil {
			return dst, err2
		}
		return append(out, '\n'), nil
	}
	return dst, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
}

func appendRawJSONLine(dst []byte, raw []byte) ([]byte, error) {
	if err := checkJSON(raw); err != nil {
		return dst, err
	}
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		var b bytes.Buffer
		if err := stdjson.Compact(&b, raw); err != nil {
			return dst, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		raw = b.Bytes()
	}
	dst = append(dst, raw...)
	return append(dst, '\n'), nil
}

// checkJSON reports whether b is one valid JSON value in valid UTF-8, as
// JSON.parse on the peer would need. It does not trim; the caller does.
func checkJSON(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%w: empty JSON text", ErrInvalidMessage)
	}
	if r := scanJSON(b); r.errAt >= 0 {
		return fmt.Errorf("%w: %s at byte %d", ErrInvalidMessage, r.reason, r.errAt)
	}
	return nil
}

// decodeJSON decodes the JSON text b of a received message into v.
func decodeJSON(b []byte, v any) error {
	if raw, ok := v.(*stdjson.RawMessage); ok && raw != nil {
		*raw = append((*raw)[:0], b...)
		return nil
	}
	if err := unmarshalJSON(b, v); err != nil {
		return fmt.Errorf("nodeipc: decode: %w", err)
	}
	return nil
}

// unmarshalJSON and marshalJSON are the JSON codec of Message.Decode, of
// the library's own envelopes (pools, Serve) and of the values callers
// decode through them (Request.Params, Call.Result, Event.Decode), with
// encoding/json's rules.
func unmarshalJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

func marshalJSON(v any) ([]byte, error) { return json.Marshal(v) }

// jsonInternalCmd reports whether the JSON text b is an object whose "cmd"
// property is a string that Node treats as internal (longer than 5
// characters and starting with "NODE_"), and returns it.
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
	if err := json.Unmarshal(b, &top); err != nil {
		return "", false
	}
	raw := top["cmd"]
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	var cmd string
	if err := json.Unmarshal(raw, &cmd); err != nil {
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

// jsonObject is how the library builds its own internal messages.
type jsonObject = map[string]any
