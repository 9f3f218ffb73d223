package jsontext

// This file is the only one in the module that imports the JSON library
// (github.com/goccy/go-json), so it can be swapped without touching anything
// else. Its error types never leave this package's callers unwrapped.

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"sync"

	json "github.com/goccy/go-json"
)

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Encoder appends the JSON text of Go values to byte slices, reusing its
// buffers from one call to the next. The zero value is ready to use. An
// Encoder is not safe for concurrent use; Append is, and shares a pool of
// encoders.
type Encoder struct {
	w   sliceWriter
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any { return new(Encoder) }}

// Append appends the JSON text of v to dst with a pooled Encoder (see
// Encoder.Append).
func Append(dst []byte, v any) ([]byte, error) {
	e := encoders.Get().(*Encoder)
	out, err := e.Append(dst, v)
	encoders.Put(e)
	return out, err
}

// Append appends the JSON text of v to dst, on one line, the way
// JavaScript's JSON.stringify writes the equivalent value: encoding/json's
// rules for Go types (struct tags, MarshalJSON, MarshalText), without HTML
// escaping, with NaN and ±Inf written as null and -0 as 0. Strings are
// escaped as AppendString escapes them, except that the fast path writes a
// lone surrogate held as WTF-8 like any other invalid UTF-8 (see
// AppendString). A json.RawMessage (or a non-nil *json.RawMessage) is
// checked with Check and appended as it is, compacted if it spans several
// lines. On error dst is returned unchanged.
func (e *Encoder) Append(dst []byte, v any) ([]byte, error) {
	if raw, ok := v.(stdjson.RawMessage); ok {
		return appendRaw(dst, raw)
	}
	if raw, ok := v.(*stdjson.RawMessage); ok && raw != nil {
		return appendRaw(dst, *raw)
	}
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.w)
		e.enc.SetEscapeHTML(false)
	}
	start := len(dst)
	e.w.b = dst
	err := e.enc.Encode(v) // appends "\n"
	out := e.w.b
	e.w.b = nil
	if err == nil {
		return out[:len(out)-1], nil
	}
	dst = out[:start]
	var unsupported *json.UnsupportedValueError
	if errors.As(err, &unsupported) {
		// NaN or ±Inf somewhere: JSON.stringify writes null for them.
		return appendValue(dst, v)
	}
	return dst, err
}

// appendRaw appends the JSON text raw after checking it, compacted if it
// has line breaks.
func appendRaw(dst []byte, raw []byte) ([]byte, error) {
	if err := Check(raw); err != nil {
		return dst, err
	}
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		b := bytes.NewBuffer(dst)
		if err := stdjson.Compact(b, raw); err != nil {
			return dst, err
		}
		return b.Bytes(), nil
	}
	return append(dst, raw...), nil
}

// Marshal returns the JSON text of v with encoding/json's rules (HTML
// characters escaped, NaN an error).
func Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes the JSON text b into v, a non-nil pointer, with
// encoding/json's rules.
func Unmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
