package jsvalue

import (
	"bytes"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/internal/slab"
)

// values hands out the memory of the values one ParseJSON call makes (see
// package slab), from one allocation of each kind sized by the first pass:
// the objects, the members of objects and the elements of arrays (each
// container gets a run of exact size), the bytes of strings, and the
// strings, numbers and arrays boxed in an any.
type values struct {
	objs  slab.Chunk[Object]
	mems  slab.Chunk[member]
	elems slab.Chunk[any]
	arrs  slab.Chunk[[]any]
	strs  slab.Chunk[string]
	nums  slab.Chunk[float64]
	bytes slab.Chunk[byte]
}

func (s *values) object() *Object { return &s.objs.Take(1)[0] }

// members returns room for an object's n members.
func (s *values) members(n int) []member {
	if n == 0 {
		return nil
	}
	return s.mems.Take(n)
}

// elements returns room for an array's n elements (never nil: [] is an
// array).
func (s *values) elements(n int) []any {
	if n == 0 {
		return []any{}
	}
	return s.elems.Take(n)
}

// text returns the value of the JSON string literal q (quotes included;
// see jsontext.AppendUnquoted).
func (s *values) text(q []byte) string {
	raw := q[1 : len(q)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return slab.String(&s.bytes, raw)
	}
	// The value is never longer than the literal.
	room := s.bytes.Take(len(raw))
	return slab.Bytes(jsontext.AppendUnquoted(room[:0], q))
}

func (s *values) str(v string) any     { return slab.BoxString(&s.strs, v) }
func (s *values) number(f float64) any { return slab.BoxFloat64(&s.nums, f) }
func (s *values) array(a []any) any    { return slab.BoxSlice(&s.arrs, a) }
