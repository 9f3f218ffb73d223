// Package slab hands out the memory of the values one decoder call makes
// from a few larger allocations, and puts strings, numbers and slices in an
// any without an allocation each. The decoders of JavaScript values
// (jsvalue.ParseJSON, the V8 decoder of package v8) build hundreds of
// small values per message; made one by one, their allocation and garbage
// collection cost more than the decoding itself.
//
// The values made from one set of chunks share their memory: a value kept
// keeps the whole chunk it came from alive. A decoder starts fresh chunks
// for every message, so that is at most about the memory the message's
// values take.
package slab

import "unsafe"

// Chunk hands out runs of T from larger allocations. The zero value is
// ready to use.
type Chunk[T any] struct {
	buf []T
	// Hint is the size of the next allocation, if larger than what is
	// asked for: set it to what a decoder expects the message to need.
	// Later allocations double, up to MaxGrow elements.
	Hint int
	// spilled: an allocation was left for a new one since the last
	// Recycle, so buf does not hold everything taken since then.
	spilled bool
}

// MaxGrow bounds the growth of a Chunk's allocations beyond its Hint.
const MaxGrow = 4096

// Take returns n zeroed elements whose capacity ends with them, so that
// appending to the slice copies it out rather than overwriting the next
// run.
func (c *Chunk[T]) Take(n int) []T {
	if cap(c.buf)-len(c.buf) < n {
		c.spilled = c.spilled || len(c.buf) > 0
		size := max(n, c.Hint)
		c.Hint = min(2*size, MaxGrow)
		c.buf = make([]T, 0, size)
	}
	i := len(c.buf)
	c.buf = c.buf[:i+n]
	return c.buf[i : i+n : i+n]
}

// Recycle readies c to hand out its memory again, zeroed, to the next
// message: its caller must know that no value made from c since the last
// Recycle is used any more. It keeps the current allocation when that holds
// everything taken since then; otherwise it drops it (values still using it
// keep it alive), and the next Take allocates anew, sized by Hint.
func (c *Chunk[T]) Recycle() {
	if c.spilled {
		c.buf = nil
	} else {
		clear(c.buf)
		c.buf = c.buf[:0]
	}
	c.spilled = false
}

// Cap returns the number of elements of the current allocation.
func (c *Chunk[T]) Cap() int { return cap(c.buf) }

// String returns a string with the bytes of b, copied into c.
func String(c *Chunk[byte], b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out := c.Take(len(b))
	copy(out, b)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// Bytes returns the bytes of s as a string; s must be a run taken from a
// Chunk[byte] and never written again (see String).
func Bytes(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// eface is the layout of an any: a type, and for types that are not
// pointers themselves (strings, float64, slices) a pointer to the value.
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

// box returns the any that holds v, placed in c: the any points at it
// there, as the runtime's own boxing points at a copy on the heap. The
// element is never written again.
func box[T any](c *Chunk[T], typ unsafe.Pointer, v T) any {
	p := &c.Take(1)[0]
	*p = v
	var x any
	e := (*eface)(unsafe.Pointer(&x))
	e.typ, e.data = typ, unsafe.Pointer(p)
	return x
}

// BoxString returns s in an any, the string header in c.
func BoxString(c *Chunk[string], s string) any {
	if s == "" {
		return ""
	}
	return box(c, stringType, s)
}

// BoxSlice returns a in an any, the slice header in c.
func BoxSlice(c *Chunk[[]any], a []any) any { return box(c, sliceType, a) }

// smallNumbers are the numbers 0 to 255 boxed once: most numbers in
// messages are small integers.
var smallNumbers [256]any

func init() {
	for n := range smallNumbers {
		smallNumbers[n] = float64(n)
	}
}

// BoxFloat64 returns f in an any: one made once for the integers 0 to 255,
// otherwise with the number in c.
func BoxFloat64(c *Chunk[float64], f float64) any {
	if n := int(f); n >= 0 && n < len(smallNumbers) && float64(n) == f && (n != 0 || 1/f > 0) {
		return smallNumbers[n]
	}
	return box(c, float64Type, f)
}
