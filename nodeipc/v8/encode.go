package v8

// Encoding of Go values as V8 ValueSerializer data, the way Node's
// advanced serialization writes them (see PROTOCOL.md §3).

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"nodeipc.dev/nodeipc/jsvalue"
)

// v8Ident is the identity of a Go value that stands for a JavaScript
// object: a map, pointer or slice (backing array and length), and its type.
type v8Ident struct {
	p uintptr
	n int
	t reflect.Type
}

// v8Seen is what the encoder knows of an object it has written.
type v8Seen struct {
	id      uint32
	pending bool // an Error still being written: V8 cannot read a reference to it
}

// v8KV is one property of a map being written, for sorting.
type v8KV struct {
	k   string
	idx int64
	v   any
	rv  reflect.Value
}

// v8Encoder holds the state of one Append call.
type encoder struct {
	buf    []byte
	base   int // offset of the FF header in buf
	nextID uint32
	depth  int
	seen   map[v8Ident]v8Seen
	kvs    []v8KV
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

// Marshal returns the V8 serialization of v, as Node's v8.serialize()
// writes the JavaScript value that v stands for: the version header FF 0F,
// then the value, with Node's host objects for Buffers and typed arrays.
// The package documentation says which Go values stand for which
// JavaScript values. A value that cannot be serialized, or that Node could
// not read back, is an *Error.
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// Append appends the V8 serialization of v (see Marshal) to dst and returns
// the extended slice; on error it returns dst unchanged. It keeps no
// reference to dst or v, and reuses its own working memory from one call to
// the next, so a caller that reuses dst encodes without allocating for
// most values.
func Append(dst []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	base := len(dst)
	e.base = base
	e.buf = append(dst, tagVersion, v8Version)
	err := e.encode(v)
	out := e.buf
	if err == nil && len(out)-base > v8MaxPayload {
		err = &Error{Op: "marshal", Offset: -1, Reason: fmt.Sprintf("a value of %d bytes (the limit is 2 GiB - 1)", len(out)-base), Err: ErrTooLarge}
	}
	e.reset()
	encoderPool.Put(e)
	if err != nil {
		return dst[:base], err
	}
	return out, nil
}

func (e *encoder) reset() {
	clear(e.seen)
	if len(e.seen) > 0 || cap(e.kvs) > 4096 {
		e.seen, e.kvs = nil, nil
	}
	clear(e.kvs[:cap(e.kvs)])
	*e = encoder{seen: e.seen, kvs: e.kvs[:0]}
}

// encErr reports a value that cannot be sent.
func encErr(format string, args ...any) error {
	return &Error{Op: "marshal", Offset: -1, Reason: fmt.Sprintf(format, args...)}
}

// ---- primitives ----

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (e *encoder) int32(i int32) {
	e.buf = append(e.buf, tagInt32)
	e.buf = appendVarint(e.buf, uint64(uint32(i<<1)^uint32(i>>31)))
}

func (e *encoder) double(tag byte, f float64) {
	e.buf = append(e.buf, tag)
	e.buf = binary.NativeEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// number writes a JavaScript number: 'I' for integers in int32 range
// (V8's Smis on 64-bit Node), 'N' for the rest, -0 included.
func (e *encoder) number(f float64) {
	if f >= math.MinInt32 && f <= math.MaxInt32 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		e.int32(int32(f))
		return
	}
	e.double(tagDouble, f)
}

// integer writes a Go integer; it must be exactly representable as a
// JavaScript number.
func (e *encoder) integer(i int64) error {
	if i >= math.MinInt32 && i <= math.MaxInt32 {
		e.int32(int32(i))
		return nil
	}
	f := float64(i)
	if f >= 1<<63 || int64(f) != i {
		return encErr("integer %d: it is not exactly representable as a JavaScript number (send a *big.Int for a BigInt)", i)
	}
	e.double(tagDouble, f)
	return nil
}

func (e *encoder) unsigned(u uint64) error {
	if u <= math.MaxInt32 {
		e.int32(int32(u))
		return nil
	}
	f := float64(u)
	if f >= 1<<64 || uint64(f) != u {
		return encErr("integer %d: it is not exactly representable as a JavaScript number (send a *big.Int for a BigInt)", u)
	}
	e.double(tagDouble, f)
	return nil
}

// bigInt writes a BigInt's bitfield (sign, byte length) and its 64-bit
// little-endian digits.
func (e *encoder) bigInt(tag byte, x *big.Int) error {
	if x.BitLen() > 1<<30 {
		return encErr("a BigInt of %d bits (V8's limit is 2^30)", x.BitLen())
	}
	words := x.Bits()
	ndigits := (len(words)*bits.UintSize + 63) / 64
	field := uint64(ndigits*8) << 1
	if x.Sign() < 0 {
		field |= 1
	}
	e.buf = append(e.buf, tag)
	e.buf = appendVarint(e.buf, field)
	if bits.UintSize == 64 {
		for _, w := range words {
			e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(w))
		}
		return nil
	}
	for i := 0; i < len(words); i += 2 {
		d := uint64(words[i])
		if i+1 < len(words) {
			d |= uint64(words[i+1]) << 32
		}
		e.buf = binary.LittleEndian.AppendUint64(e.buf, d)
	}
	return nil
}

// ---- strings ----

func isASCIIString(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7])&0x80 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// nextUnit decodes the code point at s[i:], reading WTF-8 surrogates (the
// form the decoder gives lone surrogates) as themselves, and invalid bytes
// as U+FFFD.
func nextUnit(s string, i int) (rune, int) {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
			return 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	}
	return r, size
}

// str writes a string value: one-byte (Latin-1) when every character is
// at most U+00FF, otherwise two-byte UTF-16, padded as V8 pads it.
func (e *encoder) str(s string) error {
	if isASCIIString(s) {
		if len(s) > v8MaxStringUnits {
			return encErr("a string of %d characters (V8's limit is %d)", len(s), v8MaxStringUnits)
		}
		e.buf = append(e.buf, tagOneByteString)
		e.buf = appendVarint(e.buf, uint64(len(s)))
		e.buf = append(e.buf, s...)
		return nil
	}
	units, latin1 := 0, true
	for i := 0; i < len(s); {
		r, size := nextUnit(s, i)
		i += size
		units++
		if r > 0xFF {
			latin1 = false
			if r > 0xFFFF {
				units++
			}
		}
	}
	if units > v8MaxStringUnits {
		return encErr("a string of %d UTF-16 code units (V8's limit is %d)", units, v8MaxStringUnits)
	}
	if latin1 {
		e.buf = append(e.buf, tagOneByteString)
		e.buf = appendVarint(e.buf, uint64(units))
		for i := 0; i < len(s); {
			r, size := nextUnit(s, i)
			i += size
			e.buf = append(e.buf, byte(r))
		}
		return nil
	}
	n := uint64(2 * units)
	// V8 aligns UTF-16 data to an even offset from the start of its buffer;
	// Node's buffer starts with the 4-byte length, so the parity is that of
	// the offset from the FF header.
	if (len(e.buf)-e.base+1+varintLen(n))&1 != 0 {
		e.buf = append(e.buf, tagPadding)
	}
	e.buf = append(e.buf, tagTwoByteString)
	e.buf = appendVarint(e.buf, n)
	e.buf = slices.Grow(e.buf, int(n))
	for i := 0; i < len(s); {
		r, size := nextUnit(s, i)
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			e.buf = binary.NativeEndian.AppendUint16(e.buf, uint16(0xD800+r>>10))
			r = 0xDC00 + r&0x3FF
		}
		e.buf = binary.NativeEndian.AppendUint16(e.buf, uint16(r))
	}
	return nil
}

// keyBytes pre-encodes an ASCII property key (struct field names).
func keyBytes(name string) []byte {
	if idx := arrayIndex(name); idx >= 0 {
		e := encoder{}
		e.key(name, idx)
		return e.buf
	}
	b := []byte{tagOneByteString}
	b = appendVarint(b, uint64(len(name)))
	return append(b, name...)
}

// key writes a property key. Array indices are written as numbers, as V8
// does.
func (e *encoder) key(k string, idx int64) error {
	if idx < 0 {
		return e.str(k)
	}
	if idx <= math.MaxInt32 {
		e.int32(int32(idx))
	} else {
		e.double(tagDouble, float64(idx))
	}
	return nil
}

// ---- objects ----

// enter counts one level of nesting.
func (e *encoder) enter() error {
	e.depth++
	if e.depth > v8MaxEncodeDepth {
		return encErr("a value nested deeper than %d levels (Node's deserializer overflows its stack)", v8MaxEncodeDepth)
	}
	return nil
}

// ref writes a reference and returns true if the object k was written
// before; otherwise it gives k the next object id.
func (e *encoder) ref(k v8Ident) (bool, error) {
	if e.seen == nil {
		e.seen = make(map[v8Ident]v8Seen)
	}
	if s, ok := e.seen[k]; ok {
		if s.pending {
			return true, encErr("an Error whose cause contains the Error itself (Node 20 cannot read it)")
		}
		e.buf = append(e.buf, tagRef)
		e.buf = appendVarint(e.buf, uint64(s.id))
		return true, nil
	}
	e.seen[k] = v8Seen{id: e.nextID}
	e.nextID++
	return false, nil
}

// Types of the containers open identifies by address.
var (
	arrayType   = reflect.TypeFor[*jsvalue.Array]()
	objectType  = reflect.TypeFor[*jsvalue.Object]()
	jsMapType   = reflect.TypeFor[*jsvalue.Map]()
	jsSetType   = reflect.TypeFor[*jsvalue.Set]()
	jsErrorType = reflect.TypeFor[*jsvalue.Error]()
)

// open begins a container that can be referenced, at address p with type
// t: a nil one (p nil) is written as null and one written before as a back
// reference, and done is set; otherwise it is recorded under the returned
// identity and one level of nesting is entered.
func (e *encoder) open(p unsafe.Pointer, t reflect.Type) (k v8Ident, done bool, err error) {
	if p == nil {
		e.buf = append(e.buf, tagNull)
		return k, true, nil
	}
	k = v8Ident{p: uintptr(p), t: t}
	if done, err := e.ref(k); done || err != nil {
		return k, true, err
	}
	return k, false, e.enter()
}

// object counts an object that is never referenced twice (Go values that
// are copied, such as structs and time.Time).
func (e *encoder) object() { e.nextID++ }

// encode writes v. Common types are handled without reflection.
func (e *encoder) encode(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNull)
	case string:
		return e.str(x)
	case float64:
		e.number(x)
	case bool:
		if x {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case int:
		return e.integer(int64(x))
	case int64:
		return e.integer(x)
	case int32:
		e.int32(x)
	case int16:
		e.int32(int32(x))
	case int8:
		e.int32(int32(x))
	case uint:
		return e.unsigned(uint64(x))
	case uint64:
		return e.unsigned(x)
	case uint32:
		return e.unsigned(uint64(x))
	case uint16:
		e.int32(int32(x))
	case uint8:
		e.int32(int32(x))
	case float32:
		e.number(float64(x))
	case *jsvalue.Object:
		return e.jsObject(x)
	case jsvalue.Object:
		return e.jsObject(&x)
	case map[string]any:
		return e.mapAny(x)
	case []any:
		return e.sliceAny(x)
	case jsvalue.Undefined:
		e.buf = append(e.buf, tagUndefined)
	case jsvalue.Hole:
		return encErr("a Hole outside a []any")
	case time.Time:
		e.object()
		e.double(tagDate, float64(x.UnixMilli()))
	case jsvalue.InvalidDate:
		e.object()
		e.double(tagDate, jsNaN)
	case *big.Int:
		if x == nil {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		return e.bigInt(tagBigInt, x)
	case big.Int:
		return e.bigInt(tagBigInt, &x)
	case jsvalue.RegExp:
		return e.regexp(x)
	case jsvalue.Boxed:
		return e.boxed(x)
	case *jsvalue.Map:
		return e.jsMap(x)
	case *jsvalue.Set:
		return e.jsSet(x)
	case *jsvalue.Array:
		return e.array(x)
	case *jsvalue.Error:
		return e.jsError(x)
	case jsvalue.Buffer:
		return e.host(hostBuffer, bufferType, x)
	case []byte:
		if x == nil {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		return e.host(hostBuffer, bytesType, x)
	case jsvalue.Uint8Array:
		return e.host(hostUint8, uint8ArrayType, x)
	case jsvalue.Uint8ClampedArray:
		return e.host(hostUint8Clamped, clampedType, x)
	case jsvalue.DataView:
		return e.host(hostDataView, dataViewType, x)
	case jsvalue.ArrayBuffer:
		return e.arrayBuffer(x, 0, false)
	case jsvalue.ResizableArrayBuffer:
		return e.arrayBuffer(x.Data, x.MaxByteLength, true)
	case jsvalue.Float16Array:
		return encErr("a Float16Array (Node before 26 crashes on it)")
	case []int8, []int16, []uint16, []int32, []uint32, []float32, []float64, []int64, []uint64:
		return e.typedSlice(reflect.ValueOf(v))
	default:
		return e.reflectValue(reflect.ValueOf(v))
	}
	return nil
}

// mapAny writes a map[string]any as a plain object.
func (e *encoder) mapAny(m map[string]any) error {
	if _, done, err := e.open(reflect.ValueOf(m).UnsafePointer(), mapAnyType); done || err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginObject)
	start := len(e.kvs)
	for k, v := range m {
		e.kvs = append(e.kvs, v8KV{k: k, idx: arrayIndex(k), v: v})
	}
	return e.objectBody(start)
}

// jsObject writes an *Object: a plain object, with its keys in its order.
func (e *encoder) jsObject(o *jsvalue.Object) error {
	if _, done, err := e.open(unsafe.Pointer(o), objectType); done || err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginObject)
	if err := e.members(o); err != nil {
		return err
	}
	e.buf = append(e.buf, tagEndObject)
	e.buf = appendVarint(e.buf, uint64(o.Len()))
	e.depth--
	return nil
}

// members writes the keys and values of o, in its order; array-index keys
// (which an Object keeps first) as numbers, as V8 writes them.
func (e *encoder) members(o *jsvalue.Object) error {
	indices := true
	for k, v := range o.All() {
		idx := int64(-1)
		if indices {
			if n, ok := jsvalue.ArrayIndex(k); ok {
				idx = int64(n)
			} else {
				indices = false
			}
		}
		if err := e.key(k, idx); err != nil {
			return err
		}
		if err := e.encode(v); err != nil {
			return err
		}
	}
	return nil
}

// objectBody writes the properties collected in e.kvs[start:], in V8's
// order, then ends the object and its level of nesting.
func (e *encoder) objectBody(start int) error {
	end := len(e.kvs)
	sortKVs(e.kvs[start:end])
	for i := start; i < end; i++ {
		// Copy the entry: nested objects append to e.kvs, which may move.
		kv := e.kvs[i]
		if err := e.key(kv.k, kv.idx); err != nil {
			return err
		}
		var err error
		if kv.rv.IsValid() {
			err = e.reflectValue(kv.rv)
		} else {
			err = e.encode(kv.v)
		}
		if err != nil {
			return err
		}
	}
	clear(e.kvs[start:end])
	e.kvs = e.kvs[:start]
	e.buf = append(e.buf, tagEndObject)
	e.buf = appendVarint(e.buf, uint64(end-start))
	e.depth--
	return nil
}

// sortKVs orders keys as V8 enumerates them for a plain object (array
// indices first, ascending), then the other keys in byte order, since a Go
// map has no insertion order.
func sortKVs(kvs []v8KV) {
	slices.SortFunc(kvs, func(a, b v8KV) int {
		switch {
		case a.idx >= 0 && b.idx >= 0:
			return cmp.Compare(a.idx, b.idx)
		case a.idx >= 0:
			return -1
		case b.idx >= 0:
			return 1
		}
		return strings.Compare(a.k, b.k)
	})
}

// sliceIdent is the identity of a slice: its backing array, length and
// type. Empty slices have none (they may share a zero-size allocation).
func sliceIdent(rv reflect.Value) (v8Ident, bool) {
	if rv.Cap() == 0 {
		return v8Ident{}, false
	}
	return v8Ident{p: uintptr(rv.UnsafePointer()), n: rv.Len(), t: rv.Type()}, true
}

// sliceAny writes a []any: a dense array, or a sparse one if it has holes.
func (e *encoder) sliceAny(s []any) error {
	if s == nil {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	if cap(s) == 0 {
		e.object()
	} else if done, err := e.ref(v8Ident{p: uintptr(unsafe.Pointer(unsafe.SliceData(s))), n: len(s), t: sliceAnyType}); done || err != nil {
		return err
	}
	if len(s) > v8MaxArrayLength {
		return encErr("an array of %d elements", len(s))
	}
	if err := e.enter(); err != nil {
		return err
	}
	holey := false
	for _, v := range s {
		if _, ok := v.(jsvalue.Hole); ok {
			holey = true
			break
		}
	}
	if !holey {
		e.buf = append(e.buf, tagBeginDense)
		e.buf = appendVarint(e.buf, uint64(len(s)))
		for _, v := range s {
			if err := e.encode(v); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, tagEndDense, 0)
		e.buf = appendVarint(e.buf, uint64(len(s)))
		e.depth--
		return nil
	}
	e.buf = append(e.buf, tagBeginSparse)
	e.buf = appendVarint(e.buf, uint64(len(s)))
	n := 0
	for i, v := range s {
		if _, ok := v.(jsvalue.Hole); ok {
			continue
		}
		e.key("", int64(i))
		if err := e.encode(v); err != nil {
			return err
		}
		n++
	}
	e.buf = append(e.buf, tagEndSparse)
	e.buf = appendVarint(e.buf, uint64(n))
	e.buf = appendVarint(e.buf, uint64(len(s)))
	e.depth--
	return nil
}

// array writes an *Array: dense if it has every element, else sparse.
func (e *encoder) array(a *jsvalue.Array) error {
	if _, done, err := e.open(unsafe.Pointer(a), arrayType); done || err != nil {
		return err
	}
	for k := range a.Props.Keys() {
		if arrayIndex(k) >= 0 {
			return encErr("Array property %q: put array indices in Elements", k)
		}
		if k == "length" {
			return encErr(`Array property "length" (Node cannot read it)`)
		}
	}
	for i := range a.Elements {
		if i >= a.Length {
			return encErr("Array element %d at or beyond its length %d", i, a.Length)
		}
	}
	dense := uint64(len(a.Elements)) == uint64(a.Length) && a.Length <= v8MaxArrayLength
	if dense {
		e.buf = append(e.buf, tagBeginDense)
		e.buf = appendVarint(e.buf, uint64(a.Length))
		for i := uint32(0); i < a.Length; i++ {
			if err := e.encode(a.Elements[i]); err != nil {
				return err
			}
		}
	} else {
		e.buf = append(e.buf, tagBeginSparse)
		e.buf = appendVarint(e.buf, uint64(a.Length))
		idx := make([]uint32, 0, len(a.Elements))
		for i := range a.Elements {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		for _, i := range idx {
			e.key("", int64(i))
			if err := e.encode(a.Elements[i]); err != nil {
				return err
			}
		}
	}
	if err := e.members(a.Props); err != nil {
		return err
	}
	if dense {
		e.buf = append(e.buf, tagEndDense)
		e.buf = appendVarint(e.buf, uint64(a.Props.Len()))
	} else {
		e.buf = append(e.buf, tagEndSparse)
		e.buf = appendVarint(e.buf, uint64(a.Props.Len()+len(a.Elements)))
	}
	e.buf = appendVarint(e.buf, uint64(a.Length))
	e.depth--
	return nil
}

func (e *encoder) regexp(r jsvalue.RegExp) error {
	var flags uint32
	for i := 0; i < len(r.Flags); i++ {
		bit := uint32(0)
		for _, f := range regexpFlagLetters {
			if f.letter == r.Flags[i] {
				bit = f.bit
			}
		}
		if bit == 0 || flags&bit != 0 {
			return encErr("RegExp flags %q", r.Flags)
		}
		flags |= bit
	}
	if flags&(16|256) == 16|256 {
		return encErr("RegExp flags %q (u and v together)", r.Flags)
	}
	e.object()
	e.buf = append(e.buf, tagRegExp)
	if err := e.str(r.Source); err != nil {
		return err
	}
	e.buf = appendVarint(e.buf, uint64(flags))
	return nil
}

func (e *encoder) boxed(b jsvalue.Boxed) error {
	switch x := b.Value.(type) {
	case bool:
		e.object()
		if x {
			e.buf = append(e.buf, tagTrueObject)
		} else {
			e.buf = append(e.buf, tagFalseObject)
		}
		return nil
	case float64:
		e.object()
		e.double(tagNumberObject, x)
		return nil
	case *big.Int:
		if x != nil {
			e.object()
			return e.bigInt(tagBigIntObject, x)
		}
	case string:
		e.object()
		e.buf = append(e.buf, tagStringObject)
		return e.str(x)
	default:
		rv := reflect.ValueOf(x)
		var f float64
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f = float64(rv.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			f = float64(rv.Uint())
		case reflect.Float32:
			f = rv.Float()
		default:
			return encErr("a Boxed holding %T (want a bool, number, string or *big.Int)", b.Value)
		}
		e.object()
		e.double(tagNumberObject, f)
		return nil
	}
	return encErr("a Boxed holding a nil *big.Int")
}

func (e *encoder) jsMap(m *jsvalue.Map) error {
	if _, done, err := e.open(unsafe.Pointer(m), jsMapType); done || err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginMap)
	for _, en := range m.Entries {
		if err := e.encode(en.Key); err != nil {
			return err
		}
		if err := e.encode(en.Value); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, tagEndMap)
	e.buf = appendVarint(e.buf, uint64(2*len(m.Entries)))
	e.depth--
	return nil
}

func (e *encoder) jsSet(s *jsvalue.Set) error {
	if _, done, err := e.open(unsafe.Pointer(s), jsSetType); done || err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginSet)
	for _, v := range s.Values {
		if err := e.encode(v); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, tagEndSet)
	e.buf = appendVarint(e.buf, uint64(len(s.Values)))
	e.depth--
	return nil
}

// errorTags maps the error names V8 knows to their prototype subtags.
var errorTags = map[string]byte{
	"EvalError": errEval, "RangeError": errRange, "ReferenceError": errReference,
	"SyntaxError": errSyntax, "TypeError": errType, "URIError": errURI,
}

func (e *encoder) jsError(x *jsvalue.Error) error {
	k, done, err := e.open(unsafe.Pointer(x), jsErrorType)
	if done || err != nil {
		return err
	}
	s := e.seen[k]
	s.pending = true
	e.seen[k] = s
	e.buf = append(e.buf, tagError)
	if t, ok := errorTags[x.Name]; ok {
		e.buf = append(e.buf, t)
	}
	if x.Message != "" {
		e.buf = append(e.buf, errMessage)
		if err := e.str(x.Message); err != nil {
			return err
		}
	}
	// Node 22+ (V8 12.4+) reads the cause last and rejects a stack after
	// it; Node 20 takes either order.
	if x.Stack != "" {
		e.buf = append(e.buf, errStack)
		if err := e.str(x.Stack); err != nil {
			return err
		}
	}
	if x.Cause != nil || x.HasCause {
		e.buf = append(e.buf, errCause)
		if err := e.encode(x.Cause); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, errEnd)
	s.pending = false
	e.seen[k] = s
	e.depth--
	return nil
}

// Types that tell byte slices apart in object identities.
var (
	bufferType     = reflect.TypeFor[jsvalue.Buffer]()
	bytesType      = reflect.TypeFor[[]byte]()
	uint8ArrayType = reflect.TypeFor[jsvalue.Uint8Array]()
	clampedType    = reflect.TypeFor[jsvalue.Uint8ClampedArray]()
	dataViewType   = reflect.TypeFor[jsvalue.DataView]()
	abType         = reflect.TypeFor[jsvalue.ArrayBuffer]()
)

// bytesRef is ref for a byte slice of type t, or object if it is empty.
func (e *encoder) bytesRef(t reflect.Type, b []byte) (bool, error) {
	if cap(b) == 0 {
		e.object()
		return false, nil
	}
	return e.ref(v8Ident{p: uintptr(unsafe.Pointer(unsafe.SliceData(b))), n: len(b), t: t})
}

// host writes one of Node's typed-array host objects: 5C 00 type length
// bytes. t tells the Go type of b, for references to the same view.
func (e *encoder) host(kind int, t reflect.Type, b []byte) error {
	if done, err := e.bytesRef(t, b); done || err != nil {
		return err
	}
	n := len(b)
	if n > v8MaxPayload {
		return encErr("a typed array of %d bytes", n)
	}
	e.buf = append(e.buf, tagHostObject, hostView, byte(kind))
	e.buf = appendVarint(e.buf, uint64(n))
	e.buf = append(e.buf, b...)
	return nil
}

// sliceRef is ref for a slice, or object for an empty one.
func (e *encoder) sliceRef(rv reflect.Value) (bool, error) {
	k, ok := sliceIdent(rv)
	if !ok {
		e.object()
		return false, nil
	}
	return e.ref(k)
}

func (e *encoder) arrayBuffer(b []byte, max uint32, resizable bool) error {
	if done, err := e.bytesRef(abType, b); done || err != nil {
		return err
	}
	if uint64(len(b)) > math.MaxUint32 {
		return encErr("an ArrayBuffer of %d bytes", len(b))
	}
	if resizable {
		if uint64(len(b)) > uint64(max) {
			return encErr("a ResizableArrayBuffer of %d bytes over its MaxByteLength %d", len(b), max)
		}
		e.buf = append(e.buf, tagResizableAB)
		e.buf = appendVarint(e.buf, uint64(len(b)))
		e.buf = appendVarint(e.buf, uint64(max))
	} else {
		e.buf = append(e.buf, tagArrayBuffer)
		e.buf = appendVarint(e.buf, uint64(len(b)))
	}
	e.buf = append(e.buf, b...)
	return nil
}

// typedSlice writes a slice of fixed-size numbers as the matching typed
// array, elements in host byte order.
func (e *encoder) typedSlice(rv reflect.Value) error {
	if rv.IsNil() {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	if done, err := e.sliceRef(rv); done || err != nil {
		return err
	}
	n := rv.Len()
	var kind int
	var size int
	switch rv.Type().Elem().Kind() {
	case reflect.Int8:
		kind, size = hostInt8, 1
	case reflect.Int16:
		kind, size = hostInt16, 2
	case reflect.Uint16:
		kind, size = hostUint16, 2
	case reflect.Int32:
		kind, size = hostInt32, 4
	case reflect.Uint32:
		kind, size = hostUint32, 4
	case reflect.Float32:
		kind, size = hostFloat32, 4
	case reflect.Float64:
		kind, size = hostFloat64, 8
	case reflect.Int64:
		kind, size = hostBigInt64, 8
	default: // reflect.Uint64
		kind, size = hostBigUint64, 8
	}
	if n > v8MaxPayload/size {
		return encErr("a typed array of %d elements", n)
	}
	e.buf = append(e.buf, tagHostObject, hostView, byte(kind))
	e.buf = appendVarint(e.buf, uint64(n*size))
	if n > 0 {
		// The elements' memory is the payload: V8 writes typed arrays in
		// the machine's byte order, as Go keeps them (named types too).
		e.buf = append(e.buf, unsafe.Slice((*byte)(rv.UnsafePointer()), n*size)...)
	}
	return nil
}

// ---- reflection ----

// knownTypes are the types encode's type switch handles; reached through
// reflection they are passed back to it.
var knownTypes = map[reflect.Type]bool{}

func init() {
	for _, v := range []any{
		time.Time{}, jsvalue.InvalidDate{}, (*big.Int)(nil), big.Int{}, jsvalue.RegExp{}, jsvalue.Boxed{},
		(*jsvalue.Object)(nil), jsvalue.Object{}, (*jsvalue.Map)(nil), (*jsvalue.Set)(nil), (*jsvalue.Array)(nil), (*jsvalue.Error)(nil), jsvalue.Undefined{}, jsvalue.Hole{},
		jsvalue.Buffer(nil), jsvalue.Uint8Array(nil), jsvalue.Uint8ClampedArray(nil), jsvalue.DataView(nil),
		jsvalue.ArrayBuffer(nil), jsvalue.ResizableArrayBuffer{}, jsvalue.Float16Array(nil),
	} {
		knownTypes[reflect.TypeOf(v)] = true
	}
}

// reflectValue writes any other Go value: named basic types, structs
// (json tags), maps, slices, arrays and pointers.
func (e *encoder) reflectValue(rv reflect.Value) error {
	if !rv.IsValid() {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	rt := rv.Type()
	kind := rt.Kind()
	// Only structs, pointers and slices can be one of the known types.
	if (kind == reflect.Struct || kind == reflect.Pointer || kind == reflect.Slice) && knownTypes[rt] {
		return e.encode(rv.Interface())
	}
	switch kind {
	case reflect.Bool:
		return e.encode(rv.Bool())
	case reflect.String:
		return e.str(rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.integer(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.unsigned(rv.Uint())
	case reflect.Float32, reflect.Float64:
		e.number(rv.Float())
		return nil
	case reflect.Interface:
		if rv.IsNil() {
			e.buf = append(e.buf, tagNull)
			return nil
		}
		return e.encode(rv.Interface())
	case reflect.Pointer:
		return e.pointer(rv)
	case reflect.Struct:
		e.object()
		return e.structBody(rv)
	case reflect.Map:
		if rt == mapAnyType {
			return e.mapAny(rv.Interface().(map[string]any))
		}
		return e.goMap(rv)
	case reflect.Slice:
		if rt == sliceAnyType {
			return e.sliceAny(rv.Interface().([]any))
		}
		return e.goSlice(rv)
	case reflect.Array:
		e.object()
		return e.denseBody(rv)
	}
	return encErr("a Go %s", rt)
}

func (e *encoder) pointer(rv reflect.Value) error {
	if rv.IsNil() {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	el := rv.Elem()
	if knownTypes[el.Type()] {
		return e.encode(el.Interface())
	}
	switch el.Kind() {
	case reflect.Struct, reflect.Array:
		if done, err := e.ref(v8Ident{p: uintptr(rv.UnsafePointer()), t: rv.Type()}); done || err != nil {
			return err
		}
		if el.Kind() == reflect.Struct {
			return e.structBody(el)
		}
		return e.denseBody(el)
	}
	// A pointer to a map, slice or primitive: the target is the object.
	return e.reflectValue(el)
}

// structBody writes a struct's fields as a plain object; its id is
// already assigned.
func (e *encoder) structBody(rv reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	si := structInfo(rv.Type())
	e.buf = append(e.buf, tagBeginObject)
	n := 0
	for i := range si.fields {
		f := &si.fields[i]
		fv := fieldValue(rv, f.index, false)
		if !fv.IsValid() || f.omitEmpty && isEmptyValue(fv) || f.omitZero && fv.IsZero() {
			continue
		}
		if f.key != nil {
			e.buf = append(e.buf, f.key...)
		} else if err := e.key(f.name, arrayIndex(f.name)); err != nil {
			return err
		}
		if err := e.reflectValue(fv); err != nil {
			return err
		}
		n++
	}
	e.buf = append(e.buf, tagEndObject)
	e.buf = appendVarint(e.buf, uint64(n))
	e.depth--
	return nil
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// goMap writes a map with string or integer keys as a plain object.
func (e *encoder) goMap(rv reflect.Value) error {
	if rv.IsNil() {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	kt := rv.Type().Key()
	switch kt.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		return encErr("a map with %s keys (want string or integer keys)", kt)
	}
	if done, err := e.ref(v8Ident{p: uintptr(rv.UnsafePointer()), t: rv.Type()}); done || err != nil {
		return err
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginObject)
	start := len(e.kvs)
	var it reflect.MapIter
	it.Reset(rv)
	for it.Next() {
		k := it.Key()
		var s string
		switch k.Kind() {
		case reflect.String:
			s = k.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			s = strconv.FormatInt(k.Int(), 10)
		default:
			s = strconv.FormatUint(k.Uint(), 10)
		}
		e.kvs = append(e.kvs, v8KV{k: s, idx: arrayIndex(s), rv: it.Value()})
	}
	return e.objectBody(start)
}

// goSlice writes a slice: bytes as a Buffer, fixed-size numbers as typed
// arrays, anything else as an array.
func (e *encoder) goSlice(rv reflect.Value) error {
	if rv.IsNil() {
		e.buf = append(e.buf, tagNull)
		return nil
	}
	switch rv.Type().Elem().Kind() {
	case reflect.Uint8:
		return e.host(hostBuffer, rv.Type(), rv.Bytes())
	case reflect.Int8, reflect.Int16, reflect.Uint16, reflect.Int32, reflect.Uint32,
		reflect.Float32, reflect.Float64, reflect.Int64, reflect.Uint64:
		return e.typedSlice(rv)
	}
	if done, err := e.sliceRef(rv); done || err != nil {
		return err
	}
	return e.denseBody(rv)
}

// denseBody writes a slice or array as a dense array; its id is already
// assigned.
func (e *encoder) denseBody(rv reflect.Value) error {
	n := rv.Len()
	if n > v8MaxArrayLength {
		return encErr("an array of %d elements", n)
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, tagBeginDense)
	e.buf = appendVarint(e.buf, uint64(n))
	for i := 0; i < n; i++ {
		if err := e.reflectValue(rv.Index(i)); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, tagEndDense, 0)
	e.buf = appendVarint(e.buf, uint64(n))
	e.depth--
	return nil
}
