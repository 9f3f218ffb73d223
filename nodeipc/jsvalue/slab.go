package jsvalue

import (
	"unsafe"

	"nodeipc.dev/internal/jsontext"
)

// slab hands out the memory of the values one ParseJSON call makes, from
// a few larger allocations: the objects, the members of objects and the
// elements of arrays (each container gets a part of exact size, whose
// capacity ends there, so that growing it later copies it out), the bytes
// of strings, and the strings and numbers boxed in an any.
//
// The values of one message share these allocations, so a value kept
// from a message keeps the memory of the others in its chunks alive: at
// most about the size of the message itself. Chunks start small and
// double, up to maxChunk elements, so a small message makes small chunks.
type slab struct {
	objs  []Object
	mems  []member
	elems []any
	strs  []string
	nums  []float64
	bytes []byte
}

// maxChunk bounds the elements of one chunk.
const maxChunk = 1024

// grow returns a chunk for at least n more elements, given the current
// one: the same if it has room, else a new one, twice as large.
func grow[T any](cur []T, n int) []T {
	if cap(cur)-len(cur) >= n {
		return cur
	}
	size := min(max(2*cap(cur), 8), maxChunk)
	return make([]T, 0, max(size, n))
}

// take returns the next n elements of the chunk *cur, with a capacity of n.
func take[T any](cur *[]T, n int) []T {
	*cur = grow(*cur, n)
	i := len(*cur)
	*cur = (*cur)[:i+n]
	return (*cur)[i : i+n : i+n]
}

func (s *slab) object() *Object { return &take(&s.objs, 1)[0] }

// members returns a copy of ms.
func (s *slab) members(ms []member) []member {
	if len(ms) == 0 {
		return nil
	}
	out := take(&s.mems, len(ms))
	copy(out, ms)
	return out
}

// elements returns a copy of es (never nil: [] is an array).
func (s *slab) elements(es []any) []any {
	if len(es) == 0 {
		return []any{}
	}
	out := take(&s.elems, len(es))
	copy(out, es)
	return out
}

// text returns b as a string, its bytes in the slab.
func (s *slab) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxChunk {
		return string(b)
	}
	out := take(&s.bytes, len(b))
	copy(out, b)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// unquote returns the value of the JSON string literal q (see
// jsontext.AppendUnquoted), its bytes in the slab.
func (s *slab) unquote(q []byte) string {
	if len(q) > maxChunk {
		return string(jsontext.AppendUnquoted(nil, q))
	}
	s.bytes = grow(s.bytes, len(q)) // the value is never longer
	start := len(s.bytes)
	s.bytes = jsontext.AppendUnquoted(s.bytes, q)
	out := s.bytes[start:len(s.bytes):len(s.bytes)]
	if len(out) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// eface is the layout of an any: a type, and a pointer to the value for
// types that are not pointers themselves (strings and float64).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// The type words of string and float64 in an any.
var (
	stringType  = typeWord("")
	float64Type = typeWord(0.0)
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

// str returns s in an any, without an allocation of its own.
func (s *slab) str(v string) any {
	if v == "" {
		return ""
	}
	p := &take(&s.strs, 1)[0]
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
	p := &take(&s.nums, 1)[0]
	*p = f
	return box(float64Type, unsafe.Pointer(p))
}
