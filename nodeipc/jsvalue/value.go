package jsvalue

import (
	"math/big"
	"reflect"
)

// Undefined is JavaScript's undefined. Decoding into an any gives
// Undefined{}, and encoding Undefined{} sends undefined; JavaScript's null is
// Go's nil.
type Undefined struct{}

// Hole is a missing element of a JavaScript array, as in [1, , 3]. It only
// appears as an element of a []any; encoding a []any that contains a Hole
// sends a sparse array, as V8 does for holey arrays.
type Hole struct{}

// InvalidDate is a JavaScript Date whose time value is NaN
// (new Date(NaN)). Valid dates decode to time.Time.
type InvalidDate struct{}

// RegExp is a JavaScript regular expression: /Source/Flags. Flags holds
// the flag letters (any of "dgimsuvy"); decoding gives them in the order
// of RegExp.prototype.flags.
type RegExp struct {
	Source string
	Flags  string
}

// String returns the regular expression literal, /Source/Flags.
func (r RegExp) String() string { return "/" + r.Source + "/" + r.Flags }

// Boxed is a JavaScript primitive wrapper object: new Boolean(b),
// new Number(n), new String(s) or Object(n) for a BigInt n. Value is a bool,
// a float64, a string or a *big.Int.
type Boxed struct {
	Value any
}

// MapEntry is one key/value pair of a Map.
type MapEntry struct {
	Key, Value any
}

// Map is a JavaScript Map. Keys may be any value, and Entries keep
// insertion order. A decoded Map holds its entries exactly as they were
// sent; Set and Get compare keys the way JavaScript does (SameValueZero:
// primitives by value, NaN equal to itself, objects by identity), with Go
// integers equal to the float64 numbers they stand for.
type Map struct {
	Entries []MapEntry
}

// Len returns the number of entries.
func (m *Map) Len() int { return len(m.Entries) }

// Get returns the value stored under key, and whether there is one.
func (m *Map) Get(key any) (any, bool) {
	for i := range m.Entries {
		if sameValueZero(m.Entries[i].Key, key) {
			return m.Entries[i].Value, true
		}
	}
	return nil, false
}

// Set stores value under key, keeping the position of an existing entry.
func (m *Map) Set(key, value any) {
	for i := range m.Entries {
		if sameValueZero(m.Entries[i].Key, key) {
			m.Entries[i].Value = value
			return
		}
	}
	m.Entries = append(m.Entries, MapEntry{key, value})
}

// Set is a JavaScript Set. Values keep insertion order; Has and Add compare
// values the way JavaScript does (see Map).
type Set struct {
	Values []any
}

// Len returns the number of values.
func (s *Set) Len() int { return len(s.Values) }

// Has reports whether v is in the set.
func (s *Set) Has(v any) bool {
	for _, x := range s.Values {
		if sameValueZero(x, v) {
			return true
		}
	}
	return false
}

// Add appends v unless it is already in the set.
func (s *Set) Add(v any) {
	if !s.Has(v) {
		s.Values = append(s.Values, v)
	}
}

// Array is a JavaScript array that a []any cannot hold: one with named
// properties besides its elements (a = [1]; a.x = 2), or a sparse array
// whose length is too large to expand into a []any. Elements holds the
// elements that are present by index; every other index below Length is a
// hole. Props holds the named properties, in their order (nil if there are
// none); an array index or "length" cannot be one of them.
type Array struct {
	Length   uint32
	Elements map[uint32]any
	Props    *Object
}

// Error is a JavaScript Error object. Name is "Error" or one of V8's
// built-in error types ("EvalError", "RangeError", "ReferenceError",
// "SyntaxError", "TypeError", "URIError"); V8 sends any other error class as
// a plain Error, with its stack kept. Other properties of an error (such as
// code) are not sent by V8.
//
// HasCause reports that the error has a cause property. It is needed only
// for a null cause, which is a nil Cause: an error is sent with a cause when
// HasCause is set or Cause is not nil.
type Error struct {
	Name     string
	Message  string
	Stack    string
	Cause    any
	HasCause bool
}

// Error returns "Name: Message", as JavaScript's Error.prototype.toString does.
func (e *Error) Error() string {
	name := e.Name
	if name == "" {
		name = "Error"
	}
	if e.Message == "" {
		return name
	}
	return name + ": " + e.Message
}

// Buffer is a Node.js Buffer. A plain []byte is also sent as a Buffer.
type Buffer []byte

// Uint8Array is a JavaScript Uint8Array (as opposed to a Buffer).
type Uint8Array []byte

// Uint8ClampedArray is a JavaScript Uint8ClampedArray.
type Uint8ClampedArray []byte

// DataView is a JavaScript DataView, given by the bytes it views.
type DataView []byte

// ArrayBuffer is a JavaScript ArrayBuffer (not a view of one).
type ArrayBuffer []byte

// ResizableArrayBuffer is a JavaScript ArrayBuffer created with a
// maxByteLength option: Data is its current contents.
type ResizableArrayBuffer struct {
	Data          []byte
	MaxByteLength uint32
}

// Float16Array is a JavaScript Float16Array as the raw IEEE 754 half
// precision bits of its elements, in the order of the array. Only Node 26
// and later can send one; it is decoded but never sent, because older Node
// versions crash on it, so encoding one is an error.
type Float16Array []uint16

// sameValueZero compares two decoded values the way a JavaScript Map
// compares keys: primitives by value (NaN equal to NaN, +0 equal to -0),
// BigInts by value, and everything else by identity.
func sameValueZero(a, b any) bool {
	if f, ok := goNumber(a); ok {
		g, ok := goNumber(b)
		return ok && (f == g || f != f && g != g)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && (x == y || (x != nil && y != nil && x.Cmp(y) == 0))
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false
	}
	switch va.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return va.Pointer() == vb.Pointer()
	case reflect.Slice:
		return va.Pointer() == vb.Pointer() && va.Len() == vb.Len()
	}
	// Value types (time.Time, RegExp, Boxed...) are distinct objects in
	// JavaScript, so they never match.
	return false
}

// goNumber returns a Go number as the float64 JavaScript would see, so that
// Map keys decoded as float64 can be looked up with Go ints.
func goNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}
