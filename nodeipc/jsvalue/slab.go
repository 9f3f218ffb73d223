package jsvalue

import (
	"bytes"
	"unsafe"

	"nodeipc.dev/internal/jsontext"
)

// slab hands out the memory of the values one ParseJSON call makes, from
// one allocation of each kind, sized by the first pass: the objects, the
// members of objects and the elements of arrays (each container gets a
// part of exact size, whose capacity ends there, so that growing it later
// copies it out), the bytes of strings, and the strings and numbers boxed
// in an any. Each allocation is made when it is first needed.
//
// The values of one message share these allocations, so a value kept
// from a message keeps the memory of the others alive: about the size of
// the message itself, and never more than what decoding it allocated.
type slab struct {
	// What the first pass counted.
	nObjs, nArrays, nMems, nElems, nStrs, nNums, nBytes int

	objs  []Object
	mems  []member
	elems []any
	arrs  [][]any
	strs  []string
	nums  []float64
	bytes []byte
}

// take returns the next n elements of *cur, with a capacity of n; the
// first call makes *cur, of total elements (or n, if more).
func take[T any](cur *[]T, n, total int) []T {
	if cap(*cur)-len(*cur) < n {
		*cur = make([]T, 0, max(total, n))
	}
	i := len(*cur)
	*cur = (*cur)[:i+n]
	return (*cur)[i : i+n : i+n]
}

func (s *slab) object() *Object { return &take(&s.objs, 1, s.nObjs)[0] }

// members returns room for an object's n members.
func (s *slab) members(n int) []member {
	if n == 0 {
		return nil
	}
	return take(&s.mems, n, s.nMems)
}

// elements returns room for an array's n elements (never nil: [] is an
// array).
func (s *slab) elements(n int) []any {
	if n == 0 {
		return []any{}
	}
	return take(&s.elems, n, s.nElems)
}

// array returns a in an any, without an allocation of its own.
func (s *slab) array(a []any) any {
	p := &take(&s.arrs, 1, s.nArrays)[0]
	*p = a
	return box(sliceType, unsafe.Pointer(p))
}

// text returns the value of the JSON string literal q (quotes included;
// see jsontext.AppendUnquoted), its bytes in the slab.
func (s *slab) text(q []byte) string {
	raw := q[1 : len(q)-1]
	if len(raw) == 0 {
		return ""
	}
	var out []byte
	if bytes.IndexByte(raw, '\\') < 0 {
		out = take(&s.bytes, len(raw), s.nBytes)
		copy(out, raw)
	} else {
		// The value is never longer than the literal.
		room := take(&s.bytes, len(raw), s.nBytes)
		out = jsontext.AppendUnquoted(room[:0], q)
		s.bytes = s.bytes[:len(s.bytes)-len(raw)+len(out)]
	}
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// eface is the layout of an any: a type, and a pointer to the value for
// types that are not pointers themselves (strings, float64, slices).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// The type words of string, float64 and []any in an any.
var (
	stringType  = typeWord("")
	float64Type = typeWord(0.0)
	sliceType   = typeWord([]any(nil))
)

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// box returns the any that holds the value *p (of type typ), pointing at
// it where it is, as the runtime's own boxing points at a copy. *p must
// never change afterwards.
func box(typ, p unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// str returns v in an any, without an allocation of its own.
func (s *slab) str(v string) any {
	if v == "" {
		return ""
	}
	p := &take(&s.strs, 1, s.nStrs)[0]
	*p = v
	return box(stringType, unsafe.Pointer(p))
}

// smallNumbers are the numbers 0 to 255 boxed once: most numbers in
// messages are small integers.
var smallNumbers [256]any

func init() {
	for n := range smallNumbers {
		smallNumbers[n] = float64(n)
	}
}

// number returns f in an any, without an allocation of its own.
func (s *slab) number(f float64) any {
	if n := int(f); n >= 0 && n < len(smallNumbers) && float64(n) == f && (n != 0 || 1/f > 0) {
		return smallNumbers[n]
	}
	p := &take(&s.nums, 1, s.nNums)[0]
	*p = f
	return box(float64Type, unsafe.Pointer(p))
}
