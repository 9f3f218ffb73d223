package jsvalue

import (
	"unsafe"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/internal/slab"
)

// values hands out the memory of the values one ParseJSON call makes (see
// package slab), from one allocation of each kind, sized as the parser
// guesses (see parser.size) and another if that falls short: the objects,
// the members of objects and the elements of arrays (each container gets a
// run of exact size), a copy of the text, and the strings, numbers and
// arrays boxed in an any. A string is the bytes between its quotes in the
// copy, or if it has escapes, its value decoded in their place (never
// longer than they are).
type values struct {
	objs  slab.Chunk[Object]
	mems  slab.Chunk[member]
	elems slab.Chunk[any]
	arrs  slab.Chunk[[]any]
	strs  slab.Chunk[string]
	nums  slab.Chunk[float64]
	// copied is the copy of the text, made for its first string.
	copied []byte
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

// text returns the value of the JSON string literal b[i:end] (quotes
// included, valid, with escapes if escaped is set), in the copy of b.
func (s *values) text(b []byte, i, end int, escaped bool) string {
	if end-i <= 2 {
		return ""
	}
	if len(s.copied) == 0 {
		s.copied = append(s.copied, b...) // not zeroed first, as make would
	}
	if !escaped {
		return unsafe.String(&s.copied[i+1], end-i-2)
	}
	// Decoded into the room of the literal in the copy, which it cannot
	// outgrow (see AppendUnquoted), and which no other string uses.
	return slab.Bytes(jsontext.AppendUnquoted(s.copied[i+1:i+1:end-1], b[i:end]))
}

// recycle readies s to hand out its memory again (see Parser) for a text
// of n bytes: it keeps what it has if that is no more than this text could
// need (what parser.size allows, hintBudget bytes per byte and hintSlack)
// and no more than keepBytes; otherwise it drops it all, so that the values
// of a short text do not keep a long one's memory alive, nor a Parser a
// long text's memory for good. Each kind keeps its allocation only if that
// held all of the last text's values.
func (s *values) recycle(n int) {
	if s.held() > keepFor(n) {
		*s = values{}
		return
	}
	s.objs.Recycle()
	s.mems.Recycle()
	s.elems.Recycle()
	s.arrs.Recycle()
	s.strs.Recycle()
	s.nums.Recycle()
	s.copied = s.copied[:0]
}

// held returns the bytes of s's current allocations.
func (s *values) held() int {
	return s.objs.Cap()*int(unsafe.Sizeof(Object{})) + s.mems.Cap()*int(unsafe.Sizeof(member{})) +
		s.elems.Cap()*int(unsafe.Sizeof(any(nil))) + s.arrs.Cap()*int(unsafe.Sizeof([]any{})) +
		s.strs.Cap()*int(unsafe.Sizeof("")) + s.nums.Cap()*8 + cap(s.copied)
}

// keepFor returns how many bytes of memory a Parser may keep for a text
// of n bytes (see recycle).
func keepFor(n int) int { return min(keepBytes, hintBudget*n+hintSlack+n) }

// keepBytes bounds the memory a Parser keeps from one text to the next.
const keepBytes = 1 << 20

func (s *values) str(v string) any     { return slab.BoxString(&s.strs, v) }
func (s *values) number(f float64) any { return slab.BoxFloat64(&s.nums, f) }
func (s *values) array(a []any) any    { return slab.BoxSlice(&s.arrs, a) }
