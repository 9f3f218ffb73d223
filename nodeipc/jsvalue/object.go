package jsvalue

import (
	"cmp"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
)

// Object is a plain JavaScript object: string keys and their values, kept
// in the order JavaScript gives them (Object.keys, for...in,
// JSON.stringify, and V8's serializer all use it):
//
//  1. keys that are array indices (see ArrayIndex: "0" to "4294967294" in
//     canonical decimal form), in ascending numeric order;
//  2. then every other key, in the order it was first added.
//
// The type keeps that order itself, so every Object is always in
// JavaScript's order: Set puts a new array-index key in its place among
// the others and appends any other new key, and setting a key the object
// already has changes its value but not its place, as assigning a property
// does in JavaScript. Decoding a JavaScript object into an any gives an
// *Object with the keys in the order the sender's JavaScript saw them, and
// encoding one writes them in that order, so a value passed through Go is
// the same to JavaScript, key order included.
//
// The zero value is an empty object, ready to use. An Object is used
// through a pointer: a copy of a non-empty Object shares its storage with
// the original. Look-up is by comparison for small objects and through an
// index for larger ones, so building an object of n keys costs O(n) for
// keys that arrive in order. An Object is not safe for concurrent use
// while it is being changed.
type Object struct {
	members []member
	// nIndex is how many members, at the front, have array-index keys.
	nIndex int
	// index maps keys to their position; it exists exactly when the object
	// has more than indexFrom members (so equal objects hold equal fields).
	index map[string]int
}

// member is one property of an Object.
type member struct {
	key   string
	value any
}

// indexFrom is the size past which an Object keeps an index of its keys.
const indexFrom = 16

// maxArrayIndex is the largest array index, 2³² − 2.
const maxArrayIndex = 1<<32 - 2

// ArrayIndex reports whether key is an array index as JavaScript defines
// it, the canonical decimal form of an integer from 0 to 4294967294 ("7",
// not "07", "+7" or "7.0"), and returns that integer. Such keys come first
// in an object, in ascending order.
func ArrayIndex(key string) (uint32, bool) {
	n := len(key)
	if n == 0 || n > 10 || key[0] > '9' || (key[0] == '0' && n > 1) {
		return 0, false
	}
	var x uint64
	for i := 0; i < n; i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + uint64(c-'0')
	}
	if x > maxArrayIndex {
		return 0, false
	}
	return uint32(x), true
}

// Len returns the number of properties.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.members)
}

// find returns the position of key, or -1.
func (o *Object) find(key string) int {
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range o.members {
		if o.members[i].key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of the property key, and whether the object has
// it. A nil *Object has no properties.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	if i := o.find(key); i >= 0 {
		return o.members[i].value, true
	}
	return nil, false
}

// Set sets the property key to value. A key the object has keeps its
// place; a new key takes its place in JavaScript's order (see Object).
func (o *Object) Set(key string, value any) {
	if i := o.find(key); i >= 0 {
		o.members[i].value = value
		return
	}
	o.add(key, value)
}

// add adds a property the object does not have.
func (o *Object) add(key string, value any) {
	n, isIndex := ArrayIndex(key)
	if !isIndex || o.nIndex == 0 {
		if isIndex {
			o.insert(0, key, value)
			o.nIndex = 1
			return
		}
		o.members = append(o.members, member{key, value})
		if o.index != nil {
			o.index[key] = len(o.members) - 1
		} else if len(o.members) > indexFrom {
			o.buildIndex()
		}
		return
	}
	// An array index: after the last smaller one (in the common case,
	// after all of them).
	at := o.nIndex
	if last, _ := ArrayIndex(o.members[at-1].key); n < last {
		at, _ = slices.BinarySearchFunc(o.members[:o.nIndex], n, func(m member, n uint32) int {
			x, _ := ArrayIndex(m.key)
			return cmp.Compare(x, n)
		})
	}
	o.insert(at, key, value)
	o.nIndex++
}

// insert puts a new property at position at.
func (o *Object) insert(at int, key string, value any) {
	o.members = slices.Insert(o.members, at, member{key, value})
	if o.index != nil && at == len(o.members)-1 {
		o.index[key] = at
		return
	}
	o.buildIndex()
}

// buildIndex makes index agree with members (and with indexFrom).
func (o *Object) buildIndex() {
	if len(o.members) <= indexFrom {
		o.index = nil
		return
	}
	if o.index == nil {
		o.index = make(map[string]int, len(o.members))
	}
	for i := range o.members {
		o.index[o.members[i].key] = i
	}
}

// Grow makes room for n more properties, so that adding them does not
// allocate again.
func (o *Object) Grow(n int) { o.members = slices.Grow(o.members, n) }

// Delete removes the property key, if the object has it.
func (o *Object) Delete(key string) {
	if o == nil {
		return
	}
	i := o.find(key)
	if i < 0 {
		return
	}
	o.members = slices.Delete(o.members, i, i+1)
	if i < o.nIndex {
		o.nIndex--
	}
	if o.index != nil {
		delete(o.index, key)
		o.buildIndex()
	}
}

// All returns an iterator over the properties (key and value) in
// JavaScript's order. The object must not gain or lose properties during
// the iteration; setting the value of a key it has is fine.
func (o *Object) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		if o == nil {
			return
		}
		for i := 0; i < len(o.members); i++ {
			if !yield(o.members[i].key, o.members[i].value) {
				return
			}
		}
	}
}

// Keys returns an iterator over the keys in JavaScript's order, with the
// same rule as All.
func (o *Object) Keys() iter.Seq[string] {
	return func(yield func(string) bool) {
		if o == nil {
			return
		}
		for i := 0; i < len(o.members); i++ {
			if !yield(o.members[i].key) {
				return
			}
		}
	}
}

// ToMap returns the object as a map[string]any, the form encoding/json
// gives. Objects inside it, as property values or elements of []any
// slices at any depth, become maps too; every other value (a *Map, a
// Buffer, ...) is shared with o. An object met again (shared, or a cycle)
// becomes the same map. The map does not keep the key order: it is for Go
// code that wants a map; decoding into a map[string]any gives the same
// maps directly.
func (o *Object) ToMap() map[string]any {
	if o == nil {
		return nil
	}
	c := converter{maps: map[*Object]map[string]any{}}
	return c.toMap(o)
}

// ObjectFromMap returns m as an *Object, maps in its values (directly or
// in []any slices, at any depth) converted too; a map met again becomes
// the same *Object. A Go map has no order, so the keys come in the order
// the V8 encoder writes a map's keys: array indices ascending, then the
// others in byte order. A nil map gives nil.
func ObjectFromMap(m map[string]any) *Object {
	if m == nil {
		return nil
	}
	c := converter{objects: map[uintptr]*Object{}}
	return c.fromMap(m)
}

// converter holds the state of one ToMap or ObjectFromMap call.
type converter struct {
	maps    map[*Object]map[string]any
	objects map[uintptr]*Object // by the map's address
	slices  map[*any][]any      // slices converted, by first element
}

func (c *converter) toMap(o *Object) map[string]any {
	if m, ok := c.maps[o]; ok {
		return m
	}
	m := make(map[string]any, len(o.members))
	c.maps[o] = m
	for _, mb := range o.members {
		m[mb.key] = c.value(mb.value, true)
	}
	return m
}

func (c *converter) fromMap(m map[string]any) *Object {
	id := reflect.ValueOf(m).Pointer()
	if o, ok := c.objects[id]; ok {
		return o
	}
	o := &Object{}
	c.objects[id] = o
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	o.members = make([]member, len(keys))
	for i, k := range keys {
		if _, ok := ArrayIndex(k); ok {
			o.nIndex++
		}
		o.members[i] = member{k, c.value(m[k], false)}
	}
	o.buildIndex()
	return o
}

// value converts what a property or element holds, toward maps (toMap) or
// toward objects.
func (c *converter) value(v any, toMap bool) any {
	switch x := v.(type) {
	case *Object:
		if toMap && x != nil {
			return c.toMap(x)
		}
	case map[string]any:
		if !toMap && x != nil {
			return c.fromMap(x)
		}
	case []any:
		if len(x) == 0 {
			return x
		}
		if s, ok := c.slices[&x[0]]; ok && len(s) == len(x) {
			return s
		}
		if c.slices == nil {
			c.slices = map[*any][]any{}
		}
		s := make([]any, len(x))
		c.slices[&x[0]] = s
		for i, e := range x {
			s[i] = c.value(e, toMap)
		}
		return s
	}
	return v
}

// compareKeys orders object keys as the V8 encoder writes a Go map's:
// array indices ascending, then the other keys in byte order.
func compareKeys(a, b string) int {
	x, aIdx := ArrayIndex(a)
	y, bIdx := ArrayIndex(b)
	switch {
	case aIdx && bIdx:
		return cmp.Compare(x, y)
	case aIdx:
		return -1
	case bIdx:
		return 1
	}
	return strings.Compare(a, b)
}

// String returns the object's JSON view (see AppendJSON), for printing.
func (o *Object) String() string {
	b, err := AppendJSON(nil, o)
	if err != nil {
		return "<jsvalue.Object: " + err.Error() + ">"
	}
	return string(b)
}

// MarshalJSON returns the object as JSON text, the way JSON.stringify
// writes it (see AppendStringify), so that an *Object inside other Go
// values keeps its key order under encoding/json.
func (o *Object) MarshalJSON() ([]byte, error) { return AppendStringify(nil, o) }

// UnmarshalJSON sets the object to the JSON object text b (see ParseJSON),
// replacing its properties; JSON null leaves it unchanged, as
// encoding/json does.
func (o *Object) UnmarshalJSON(b []byte) error {
	v, err := ParseJSON(b)
	if err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		return nil
	case *Object:
		*o = *x
		return nil
	}
	return fmt.Errorf("%w: want an object, not %T", ErrInvalidJSON, v)
}
