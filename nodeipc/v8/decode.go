package v8

// Decoding of V8 ValueSerializer data (advanced serialization).
//
// The decoder reads straight from the payload. Every JavaScript object gets
// an id in pre-order, exactly as V8's deserializer assigns them, so that
// object references (tag '^') resolve to the same Go value: decoding into
// an any gives shared maps, slices and pointers, and cycles come out as Go
// values that contain themselves.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"nodeipc.dev/internal/slab"
	"nodeipc.dev/nodeipc/jsvalue"
)

// v8Ref is one entry of the object id table.
type v8Ref struct {
	off   int           // offset of the object's tag, for re-decoding
	val   any           // the value decoded into an any, if any
	rv    reflect.Value // the Go pointer, map or slice it was decoded into, if any
	ready bool          // V8 registers some objects only once they are complete
}

// v8Decoder holds the state of one Unmarshal call.
type decoder struct {
	buf   []byte
	pos   int
	ver   uint32
	depth int
	ids   []v8Ref

	// holes is how many more array slots may be expanded for sparse
	// arrays; it keeps a few bytes from allocating gigabytes.
	holes int

	// replay is > 0 while a referenced object is decoded a second time,
	// into a Go type other than the one it was first decoded into. Ids are
	// not assigned then. replaying lists the offsets being replayed, to
	// stop cycles, and work bounds the total effort.
	replay    int
	replaying []int
	work      int

	// pendingPtr is the Go pointer whose target is about to be decoded;
	// the next object id records it, so later references share it.
	pendingPtr reflect.Value

	// keys interns short ASCII property names across the decodes done by
	// this (pooled) decoder, so repeated message shapes do not allocate
	// their keys again.
	keys map[string]string

	// maps is > 0 while a map[string]any target is decoded: plain objects
	// inside it become map[string]any too, as encoding/json gives them.
	maps int

	// The memory of the values decoded into an any (see package slab),
	// and the members of the objects being decoded, innermost last.
	objs    slab.Chunk[jsvalue.Object]
	elems   slab.Chunk[any]
	arrs    slab.Chunk[[]any]
	strs    slab.Chunk[string]
	nums    slab.Chunk[float64]
	bytes   slab.Chunk[byte]
	members []objMember
}

// objMember is a property of an object being decoded.
type objMember struct {
	off   int // of the key, for errors
	key   string
	value any
}

// setHints sizes the first allocations of the value memory for a payload
// of n bytes. An allocation made too large holds memory, one made too small
// means another: the guesses are for plain data (about one string per 16
// bytes, an object per 64).
func (d *decoder) setHints(n int) {
	d.objs.Hint = min(n/64, slab.MaxGrow)
	d.elems.Hint = min(n/16, slab.MaxGrow)
	d.arrs.Hint = min(n/64, slab.MaxGrow)
	d.strs.Hint = min(n/16, slab.MaxGrow)
	d.nums.Hint = min(n/32, slab.MaxGrow)
	d.bytes.Hint = n
}

// Bounds of the key cache.
const (
	v8KeyCacheMax    = 1024
	v8KeyCacheMaxLen = 32
)

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// Unmarshal decodes payload, one value as Node's v8.serialize() writes it
// (from the FF version header; format versions 13 to 15), into v, which must
// be a non-nil pointer. Decoding into an *any gives the values listed in
// package jsvalue; decoding into other Go types follows the package
// documentation, with encoding/json's struct field tags. Byte slices and
// strings are copied out of payload, so the caller may reuse it.
//
// An invalid payload, or a value that does not fit v, is an *Error with
// the offset of the problem; a payload of 2 GiB or more is an *Error
// wrapping ErrTooLarge.
func Unmarshal(payload []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("v8: Unmarshal needs a non-nil pointer, not %T", v)
	}
	if len(payload) > v8MaxPayload {
		return &Error{Op: "unmarshal", Offset: 0, Reason: fmt.Sprintf("payload of %d bytes is over the 2 GiB limit", len(payload)), Err: ErrTooLarge}
	}
	d := decoderPool.Get().(*decoder)
	d.buf = payload
	d.holes = 4096 + 4*len(payload)
	d.setHints(len(payload))
	err := d.header()
	if err == nil {
		if p, ok := v.(*any); ok {
			var x any
			if x, err = d.anyValue(); err == nil {
				*p = x
			}
		} else {
			err = d.value(rv.Elem())
		}
	}
	d.reset()
	decoderPool.Put(d)
	return err
}

// reset clears d for reuse, dropping every reference to decoded values.
func (d *decoder) reset() {
	clear(d.ids)
	ids := d.ids[:0]
	if cap(ids) > 1024 {
		ids = nil
	}
	clear(d.members)
	members := d.members[:0]
	if cap(members) > 1024 {
		members = nil
	}
	*d = decoder{ids: ids, replaying: d.replaying[:0], keys: d.keys, members: members}
}

func (d *decoder) errAt(off int, format string, args ...any) error {
	return &Error{Op: "unmarshal", Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func (d *decoder) truncated() error {
	return d.errAt(len(d.buf), "truncated: the value runs past the end of the %d-byte payload", len(d.buf))
}

// header reads FF and the format version; V8 accepts 13 to 15 here.
func (d *decoder) header() error {
	if len(d.buf) == 0 || d.buf[0] != tagVersion {
		return d.errAt(0, "missing the FF version header")
	}
	d.pos = 1
	v, err := d.varint32()
	if err != nil {
		return err
	}
	if v < v8MinVersion || v > v8Version {
		return d.errAt(1, "unsupported serialization version %d (want 13 to 15)", v)
	}
	d.ver = v
	return nil
}

// varint32 reads an unsigned LEB128 number of at most 5 bytes.
func (d *decoder) varint32() (uint32, error) {
	var v uint32
	start := d.pos
	for shift := 0; shift < 35; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, d.truncated()
		}
		b := d.buf[d.pos]
		d.pos++
		v |= uint32(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, d.errAt(start, "varint longer than 5 bytes")
}

func (d *decoder) zigzag32() (int32, error) {
	u, err := d.varint32()
	return int32(u>>1) ^ -int32(u&1), err
}

func (d *decoder) double() (float64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, d.truncated()
	}
	f := math.Float64frombits(binary.NativeEndian.Uint64(d.buf[d.pos:]))
	d.pos += 8
	if f != f {
		f = jsNaN // V8 canonicalizes NaN payloads
	}
	return f, nil
}

// jsNaN is the quiet NaN JavaScript engines write.
var jsNaN = math.Float64frombits(0x7FF8000000000000)

// raw returns the next n bytes of the payload, without copying.
func (d *decoder) raw(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(d.buf)-d.pos) {
		return nil, d.errAt(d.pos, "length %d is more than the %d bytes left", n, len(d.buf)-d.pos)
	}
	b := d.buf[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

// peek returns the next tag, skipping padding, and the offset after it,
// without consuming it. next is -1 at the end of the payload.
func (d *decoder) peek() (tag byte, next int) {
	for p := d.pos; p < len(d.buf); p++ {
		if d.buf[p] != tagPadding {
			return d.buf[p], p + 1
		}
	}
	return 0, -1
}

// until calls f for each element up to the end tag, then consumes the tag.
// A payload that ends first is an error.
func (d *decoder) until(end byte, f func() error) error {
	for {
		t, next := d.peek()
		if next < 0 {
			return d.truncated()
		}
		if t == end {
			d.pos = next
			return nil
		}
		if err := f(); err != nil {
			return err
		}
	}
}

// valueTag reads the tag of the next value, skipping padding and
// verify-count tags, and returns it with its offset.
func (d *decoder) valueTag() (tag byte, off int, err error) {
	for {
		t, next := d.peek()
		if next < 0 {
			return 0, d.pos, d.truncated()
		}
		d.pos = next
		if t != tagVerifyCount {
			return t, next - 1, nil
		}
		if _, err := d.varint32(); err != nil {
			return 0, next - 1, err
		}
	}
}

// nests reports whether a value with tag t holds other values: a level of
// nesting, counted against v8MaxDepth as the encoder counts the containers
// it writes, so that what decodes can be encoded again. (Node's wrapper
// around a plain object, 5C 01, is a level too: see deeper.)
func nests(t byte) bool {
	switch t {
	case tagBeginObject, tagBeginDense, tagBeginSparse, tagBeginMap, tagBeginSet, tagError:
		return true
	}
	return false
}

// enter counts one value with tag t, and one level of nesting if it holds
// others (nested: the caller then leaves it with d.depth--).
func (d *decoder) enter(t byte) (nested bool, err error) {
	if nests(t) {
		nested = true
		if err := d.deeper(); err != nil {
			return nested, err
		}
	}
	if d.replay > 0 {
		d.work++
		if d.work > 1<<16+8*len(d.buf) {
			return nested, d.errAt(d.pos, "too many references to re-decode")
		}
	}
	return nested, nil
}

// deeper counts one level of nesting; the caller leaves it with d.depth--.
func (d *decoder) deeper() error {
	d.depth++
	if d.depth > v8MaxDepth {
		return d.errAt(d.pos, "nesting deeper than %d levels", v8MaxDepth)
	}
	return nil
}

// newID assigns the next object id, recording off and the pending Go
// pointer. It returns -1 while replaying, when ids are not assigned.
func (d *decoder) newID(off int) int {
	p := d.pendingPtr
	d.pendingPtr = reflect.Value{}
	if d.replay > 0 {
		return -1
	}
	d.ids = append(d.ids, v8Ref{off: off, rv: p})
	return len(d.ids) - 1
}

// setReady records the value of object id and makes it referable.
func (d *decoder) setReady(id int, v any) {
	if id >= 0 {
		d.ids[id].val = v
		d.ids[id].ready = true
	}
}

// refID reads the id after a '^' tag and checks it.
func (d *decoder) refID(off int) (int, error) {
	id, err := d.varint32()
	if err != nil {
		return 0, err
	}
	if uint64(id) >= uint64(len(d.ids)) || !d.ids[id].ready {
		return 0, d.errAt(off, "reference to unknown object id %d", id)
	}
	return int(id), nil
}

// ---- strings ----

// stringBody reads a string whose tag t has been consumed; its bytes come
// from c (see package slab), or from their own allocation if c is nil.
func (d *decoder) stringBody(t byte, c *slab.Chunk[byte]) (string, error) {
	n, err := d.varint32()
	if err != nil {
		return "", err
	}
	b, err := d.raw(n)
	if err != nil {
		return "", err
	}
	switch t {
	case tagOneByteString:
		return latin1String(b, c), nil
	case tagTwoByteString:
		if n%2 != 0 {
			return "", d.errAt(d.pos-int(n), "two-byte string of odd length %d", n)
		}
		return utf16String(b, c), nil
	}
	return utf8String(b, c), nil
}

// stringBytes returns room for a string of n bytes: from c, or a new
// allocation if c is nil.
func stringBytes(c *slab.Chunk[byte], n int) []byte {
	if c == nil {
		return make([]byte, n)
	}
	return c.Take(n)
}

// copyString returns b as a string, its bytes from c (see stringBytes).
func copyString(b []byte, c *slab.Chunk[byte]) string {
	if c == nil {
		return string(b)
	}
	return slab.String(c, b)
}

// str reads a value that must be a string (RegExp source, Error message).
func (d *decoder) str() (string, error) {
	t, off, err := d.valueTag()
	if err != nil {
		return "", err
	}
	if t != tagOneByteString && t != tagTwoByteString && t != tagUTF8String {
		return "", d.errAt(off, "expected a string, found tag 0x%02x", t)
	}
	return d.stringBody(t, &d.bytes)
}

// isASCII reports whether b is all ASCII, 8 bytes at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// latin1String converts Latin-1 bytes to a UTF-8 Go string, its bytes
// from c (see stringBytes).
func latin1String(b []byte, c *slab.Chunk[byte]) string {
	if isASCII(b) {
		return copyString(b, c)
	}
	n := len(b)
	for _, x := range b {
		n += int(x >> 7)
	}
	out := stringBytes(c, n)
	j := 0
	for _, x := range b {
		if x < 0x80 {
			out[j] = x
			j++
		} else {
			out[j], out[j+1] = 0xC0|x>>6, 0x80|x&0x3F
			j += 2
		}
	}
	return slab.Bytes(out)
}

// utf16String converts host-order UTF-16 to a Go string, its bytes from c
// (see stringBytes). Lone surrogates are kept, encoded as WTF-8 (the
// 3-byte form UTF-8 would give them), so that they survive a round trip.
func utf16String(b []byte, c *slab.Chunk[byte]) string {
	n := 0
	for i := 0; i+1 < len(b); i += 2 {
		u := binary.NativeEndian.Uint16(b[i:])
		switch {
		case u < 0x80:
			n++
		case u < 0x800:
			n += 2
		case u >= 0xD800 && u < 0xDC00 && i+3 < len(b) && isLowSurrogate(binary.NativeEndian.Uint16(b[i+2:])):
			n += 4
			i += 2
		default:
			n += 3
		}
	}
	// Fill a buffer of exactly n bytes and hand it over as the string
	// without copying it again (it is never written after that).
	out := stringBytes(c, n)
	j := 0
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(binary.NativeEndian.Uint16(b[i:]))
		switch {
		case u < 0x80:
			out[j] = byte(u)
			j++
			continue
		case u >= 0xD800 && u < 0xDC00 && i+3 < len(b):
			if lo := binary.NativeEndian.Uint16(b[i+2:]); isLowSurrogate(lo) {
				j += utf8.EncodeRune(out[j:], 0x10000+(u-0xD800)<<10+rune(lo)-0xDC00)
				i += 2
				continue
			}
		}
		if u >= 0xD800 && u < 0xE000 {
			out[j], out[j+1], out[j+2] = 0xE0|byte(u>>12), 0x80|byte(u>>6)&0x3F, 0x80|byte(u)&0x3F
			j += 3
			continue
		}
		j += utf8.EncodeRune(out[j:], u)
	}
	return slab.Bytes(out)
}

func isLowSurrogate(u uint16) bool { return u >= 0xDC00 && u < 0xE000 }

// utf8String converts UTF-8 bytes to a string, its bytes from c (see
// stringBytes) if they are valid, and otherwise with invalid bytes replaced
// by U+FFFD as V8 does.
func utf8String(b []byte, c *slab.Chunk[byte]) string {
	if utf8.Valid(b) {
		return copyString(b, c)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[size:]
	}
	return string(out)
}

// ---- numbers ----

func (d *decoder) bigInt() (*big.Int, error) {
	bits, err := d.varint32()
	if err != nil {
		return nil, err
	}
	digits, err := d.raw(bits >> 1)
	if err != nil {
		return nil, err
	}
	be := make([]byte, len(digits))
	for i, c := range digits {
		be[len(be)-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if bits&1 != 0 {
		x.Neg(x)
	}
	return x, nil
}

// jsNumberString formats f the way JavaScript's Number.prototype.toString
// does, for numeric property keys.
func jsNumberString(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case f == 0:
		return "0"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	n, k := e+1, len(digits)
	var b strings.Builder
	if f < 0 {
		b.WriteByte('-')
	}
	switch {
	case k <= n && n <= 21:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		b.WriteString(digits[:n])
		b.WriteByte('.')
		b.WriteString(digits[n:])
	case -6 < n && n <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -n))
		b.WriteString(digits)
	default:
		b.WriteByte(digits[0])
		if k > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if n-1 >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(n - 1))
	}
	return b.String()
}

// v8Key is a property key: s is its string form (valid if hasS), idx its
// array index or -1.
type v8Key struct {
	s    string
	hasS bool
	idx  int64
}

func (k *v8Key) str() string {
	if !k.hasS {
		k.s, k.hasS = strconv.FormatInt(k.idx, 10), true
	}
	return k.s
}

// arrayIndex returns the array index s stands for (see
// jsvalue.ArrayIndex), or -1.
func arrayIndex(s string) int64 {
	if n, ok := jsvalue.ArrayIndex(s); ok {
		return int64(n)
	}
	return -1
}

// internedKey reads a short ASCII one-byte key through the key cache. If
// the key is not short ASCII it reports !ok and leaves the position alone.
func (d *decoder) internedKey() (string, bool, error) {
	save := d.pos
	n, err := d.varint32()
	if err != nil {
		return "", false, err
	}
	if n > v8KeyCacheMaxLen || uint64(n) > uint64(len(d.buf)-d.pos) || !isASCII(d.buf[d.pos:d.pos+int(n)]) {
		d.pos = save
		return "", false, nil
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	if s, ok := d.keys[string(b)]; ok {
		return s, true, nil
	}
	s := string(b)
	if d.keys == nil {
		d.keys = make(map[string]string)
	}
	if len(d.keys) < v8KeyCacheMax {
		d.keys[s] = s
	}
	return s, true, nil
}

// key reads a property key: a string or a number, as V8 accepts.
func (d *decoder) key() (v8Key, error) {
	t, off, err := d.valueTag()
	if err != nil {
		return v8Key{}, err
	}
	var f float64
	switch t {
	case tagOneByteString:
		if s, ok, err := d.internedKey(); ok || err != nil {
			return v8Key{s: s, hasS: true, idx: arrayIndex(s)}, err
		}
		fallthrough
	case tagTwoByteString, tagUTF8String:
		s, err := d.stringBody(t, &d.bytes)
		return v8Key{s: s, hasS: true, idx: arrayIndex(s)}, err
	case tagInt32:
		i, err := d.zigzag32()
		if i >= 0 {
			return v8Key{idx: int64(i)}, err
		}
		f = float64(i)
	case tagUint32:
		u, err := d.varint32()
		if u <= v8MaxArrayIndex {
			return v8Key{idx: int64(u)}, err
		}
		f = float64(u)
	case tagDouble:
		if f, err = d.double(); err != nil {
			return v8Key{}, err
		}
		if f >= 0 && f <= v8MaxArrayIndex && f == math.Trunc(f) {
			return v8Key{idx: int64(f)}, nil
		}
	default:
		return v8Key{}, d.errAt(off, "invalid property key (tag 0x%02x)", t)
	}
	s := jsNumberString(f)
	return v8Key{s: s, hasS: true, idx: -1}, err
}

// ---- decoding into any ----

// anyValue decodes the next value into the Go value that stands for it
// (see PROTOCOL.md §3 for the mapping).
func (d *decoder) anyValue() (any, error) {
	t, off, err := d.valueTag()
	if err != nil {
		return nil, err
	}
	nested, err := d.enter(t)
	if err != nil {
		return nil, err
	}
	v, err := d.anyTagged(t, off)
	if nested {
		d.depth--
	}
	return v, err
}

// anyTagged decodes a value whose tag t, at off, has been consumed. An
// ArrayBuffer followed by a view tag becomes the view, as in V8.
func (d *decoder) anyTagged(t byte, off int) (any, error) {
	v, err := d.anyTaggedNoView(t, off)
	if err != nil {
		return nil, err
	}
	switch ab := v.(type) {
	case jsvalue.ArrayBuffer:
		if next, ok := d.viewFollows(); ok {
			d.pos = next
			return d.view(ab, false)
		}
	case jsvalue.ResizableArrayBuffer:
		if next, ok := d.viewFollows(); ok {
			d.pos = next
			return d.view(ab.Data, true)
		}
	}
	return v, nil
}

func (d *decoder) viewFollows() (int, bool) {
	t, next := d.peek()
	return next, next >= 0 && t == tagView
}

func (d *decoder) anyTaggedNoView(t byte, off int) (any, error) {
	switch t {
	case tagUndefined:
		return jsvalue.Undefined{}, nil
	case tagNull:
		return nil, nil
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagInt32:
		i, err := d.zigzag32()
		return slab.BoxFloat64(&d.nums, float64(i)), err
	case tagUint32:
		u, err := d.varint32()
		return slab.BoxFloat64(&d.nums, float64(u)), err
	case tagDouble:
		f, err := d.double()
		return slab.BoxFloat64(&d.nums, f), err
	case tagBigInt:
		return d.bigInt()
	case tagOneByteString, tagTwoByteString, tagUTF8String:
		str, err := d.stringBody(t, &d.bytes)
		return slab.BoxString(&d.strs, str), err
	case tagRef:
		return d.anyRef(off)
	case tagBeginObject:
		return d.anyObject(off)
	case tagBeginDense:
		return d.anyDense(off)
	case tagBeginSparse:
		return d.anySparse(off)
	case tagDate:
		return d.date(off)
	case tagTrueObject, tagFalseObject, tagNumberObject, tagBigIntObject, tagStringObject:
		return d.boxed(t, off)
	case tagRegExp:
		return d.regexp(off)
	case tagBeginMap:
		return d.anyMap(off)
	case tagBeginSet:
		return d.anySet(off)
	case tagArrayBuffer, tagResizableAB:
		return d.arrayBuffer(t, off)
	case tagError:
		return d.jsError(off)
	case tagHostObject:
		return d.hostObject(off)
	case tagHole:
		return nil, d.errAt(off, "array hole outside an array")
	}
	return nil, d.errAt(off, "unknown or unsupported tag 0x%02x", t)
}

// anyRef resolves a '^' reference for an any.
func (d *decoder) anyRef(off int) (any, error) {
	id, err := d.refID(off)
	if err != nil {
		return nil, err
	}
	r := &d.ids[id]
	if r.val != nil {
		return r.val, nil
	}
	if r.rv.IsValid() {
		return r.rv.Interface(), nil
	}
	// First decoded into a Go type that cannot be shared: decode it again.
	var v any
	err = d.replayAt(r.off, func() (err error) { v, err = d.anyValue(); return })
	return v, err
}

// replayAt decodes the object at off again, with f, guarding against
// cycles.
func (d *decoder) replayAt(off int, f func() error) error {
	for _, o := range d.replaying {
		if o == off {
			return d.errAt(off, "cyclic reference to object at offset %d cannot be decoded into this Go type", off)
		}
	}
	save := d.pos
	d.pos = off
	d.replay++
	d.replaying = append(d.replaying, off)
	err := f()
	d.replaying = d.replaying[:len(d.replaying)-1]
	d.replay--
	d.pos = save
	return err
}

// anyObject decodes a plain object: an *Object, or in map mode (under a
// map[string]any target) a map[string]any. The members are collected on
// d.members and go into the object, which exists from the start (so that
// references to it inside resolve), at its end.
func (d *decoder) anyObject(off int) (any, error) {
	id := d.newID(off)
	var o *jsvalue.Object
	var m map[string]any
	if d.maps > 0 {
		m = make(map[string]any)
		d.setReady(id, m)
	} else {
		o = &d.objs.Take(1)[0]
		d.setReady(id, o)
	}
	start := len(d.members)
	err := d.until(tagEndObject, func() error {
		koff := d.pos
		k, err := d.key()
		if err != nil {
			return err
		}
		v, err := d.anyValue()
		if err != nil {
			return err
		}
		d.members = append(d.members, objMember{koff, k.str(), v})
		return nil
	})
	ms := d.members[start:]
	if err == nil {
		if o != nil {
			o.Grow(len(ms))
		}
		for _, mb := range ms {
			var dup bool
			if o != nil {
				_, dup = o.Get(mb.key)
				o.Set(mb.key, mb.value)
			} else {
				_, dup = m[mb.key]
				m[mb.key] = mb.value
			}
			if dup {
				err = d.errAt(mb.off, "duplicate property %q", mb.key)
				break
			}
		}
	}
	n := len(ms)
	clear(ms)
	d.members = d.members[:start]
	if err != nil {
		return nil, err
	}
	if o != nil {
		return o, d.endCount(uint32(n))
	}
	return m, d.endCount(uint32(n))
}

// endCount reads the property count after an end tag and checks it.
func (d *decoder) endCount(n uint32) error {
	off := d.pos
	c, err := d.varint32()
	if err == nil && c != n {
		err = d.errAt(off, "end tag says %d properties, found %d", c, n)
	}
	return err
}

// endArray reads the property count and length after an array's end tag.
func (d *decoder) endArray(n, length uint32) error {
	if err := d.endCount(n); err != nil {
		return err
	}
	off := d.pos
	l, err := d.varint32()
	if err == nil && l != length {
		err = d.errAt(off, "end tag says length %d, the array began with %d", l, length)
	}
	return err
}

// putArray stores a property of an Array, failing on a duplicate as V8
// does.
func putArray(a *jsvalue.Array, k *v8Key, v any) bool {
	if k.idx >= 0 {
		i := uint32(k.idx)
		if _, dup := a.Elements[i]; dup {
			return false
		}
		a.Elements[i] = v
		if i >= a.Length {
			a.Length = i + 1
		}
		return true
	}
	if a.Props == nil {
		a.Props = &jsvalue.Object{}
	}
	// An array already has a "length" property: V8 rejects it as a
	// duplicate.
	if _, dup := a.Props.Get(k.s); dup || k.s == "length" {
		return false
	}
	a.Props.Set(k.s, v)
	return true
}

// arrayFromSlice converts an expanded array to an *Array.
func arrayFromSlice(s []any) *jsvalue.Array {
	a := &jsvalue.Array{Length: uint32(len(s)), Elements: make(map[uint32]any)}
	for i, v := range s {
		if _, hole := v.(jsvalue.Hole); !hole {
			a.Elements[uint32(i)] = v
		}
	}
	return a
}

func (d *decoder) anyDense(off int) (any, error) {
	n, err := d.varint32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(d.buf)-d.pos) || n > v8MaxArrayLength {
		return nil, d.errAt(off, "dense array length %d is more than the payload can hold", n)
	}
	id := d.newID(off)
	arr := []any{} // not nil: [] is an array
	if n > 0 {
		arr = d.elems.Take(int(n))
	}
	boxed := slab.BoxSlice(&d.arrs, arr)
	d.setReady(id, boxed)
	for i := range arr {
		t, next := d.peek()
		if next < 0 {
			return nil, d.truncated()
		}
		if t == tagHole {
			d.pos = next
			arr[i] = jsvalue.Hole{}
			continue
		}
		if arr[i], err = d.anyValue(); err != nil {
			return nil, err
		}
	}
	return d.arrayRest(tagEndDense, id, arr, boxed, nil, false, n)
}

func (d *decoder) anySparse(off int) (any, error) {
	length, err := d.varint32()
	if err != nil {
		return nil, err
	}
	id := d.newID(off)
	var arr []any
	var boxed any
	var ex *jsvalue.Array
	if uint64(length) <= uint64(d.holes) && length <= v8MaxArrayLength {
		d.holes -= int(length)
		arr = make([]any, length)
		for i := range arr {
			arr[i] = jsvalue.Hole{}
		}
		boxed = arr
		d.setReady(id, boxed)
	} else {
		ex = &jsvalue.Array{Length: length, Elements: make(map[uint32]any)}
		d.setReady(id, ex)
	}
	return d.arrayRest(tagEndSparse, id, arr, boxed, ex, true, length)
}

// arrayRest reads the properties of an array up to end, and the counts.
// With fill (a sparse array kept as a slice), index keys fill arr's holes;
// any other property turns the array into an *Array (ex), which is then
// the result; otherwise the result is arr, as boxed.
func (d *decoder) arrayRest(end byte, id int, arr []any, boxed any, ex *jsvalue.Array, fill bool, length uint32) (any, error) {
	nprops := uint32(0)
	err := d.until(end, func() error {
		koff := d.pos
		k, err := d.key()
		if err != nil {
			return err
		}
		v, err := d.anyValue()
		if err != nil {
			return err
		}
		nprops++
		if fill && ex == nil && k.idx >= 0 && k.idx < int64(len(arr)) {
			if _, hole := arr[k.idx].(jsvalue.Hole); !hole {
				return d.errAt(koff, "duplicate array element %d", k.idx)
			}
			arr[k.idx] = v
			return nil
		}
		if ex == nil {
			ex = arrayFromSlice(arr)
			d.setReady(id, ex)
		}
		k.str()
		if !putArray(ex, &k, v) {
			return d.errAt(koff, "duplicate array property %q", k.s)
		}
		return nil
	})
	if err == nil {
		err = d.endArray(nprops, length)
	}
	if err != nil {
		return nil, err
	}
	if ex != nil {
		return ex, nil
	}
	return boxed, nil
}

// date reads a Date's time value, clipped as JavaScript's TimeClip does.
func (d *decoder) date(off int) (any, error) {
	ms, err := d.double()
	if err != nil {
		return nil, err
	}
	id := d.newID(off)
	var v any = jsvalue.InvalidDate{}
	if !math.IsNaN(ms) && math.Abs(ms) <= 8.64e15 {
		v = time.UnixMilli(int64(ms)).UTC()
	}
	d.setReady(id, v)
	return v, nil
}

func (d *decoder) boxed(t byte, off int) (any, error) {
	id := d.newID(off)
	var b jsvalue.Boxed
	var err error
	switch t {
	case tagTrueObject:
		b.Value = true
	case tagFalseObject:
		b.Value = false
	case tagNumberObject:
		b.Value, err = d.double()
	case tagBigIntObject:
		b.Value, err = d.bigInt()
	default:
		b.Value, err = d.str()
	}
	if err != nil {
		return nil, err
	}
	d.setReady(id, b)
	return b, nil
}

func (d *decoder) regexp(off int) (any, error) {
	id := d.newID(off)
	src, err := d.str()
	if err != nil {
		return nil, err
	}
	foff := d.pos
	bits, err := d.varint32()
	if err != nil {
		return nil, err
	}
	flags, ok := regexpFlagsString(bits)
	if !ok {
		return nil, d.errAt(foff, "invalid RegExp flags 0x%x", bits)
	}
	r := jsvalue.RegExp{Source: src, Flags: flags}
	d.setReady(id, r)
	return r, nil
}

// regexpFlagsString converts V8's flag bits to letters, rejecting what
// Node rejects: unknown bits, the linear-engine bit, and u with v.
func regexpFlagsString(bits uint32) (string, bool) {
	if bits&^regexpFlagMask != 0 || bits&regexpLinear != 0 || bits&(16|256) == 16|256 {
		return "", false
	}
	var b [8]byte
	n := 0
	for _, f := range regexpFlagLetters {
		if bits&f.bit != 0 {
			b[n] = f.letter
			n++
		}
	}
	return string(b[:n]), true
}

func (d *decoder) anyMap(off int) (any, error) {
	id := d.newID(off)
	m := &jsvalue.Map{}
	d.setReady(id, m)
	err := d.until(tagEndMap, func() error {
		k, err := d.anyValue()
		if err != nil {
			return err
		}
		v, err := d.anyValue()
		if err != nil {
			return err
		}
		m.Entries = append(m.Entries, jsvalue.MapEntry{Key: k, Value: v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, d.endCount(uint32(2 * len(m.Entries)))
}

func (d *decoder) anySet(off int) (any, error) {
	id := d.newID(off)
	s := &jsvalue.Set{}
	d.setReady(id, s)
	err := d.until(tagEndSet, func() error {
		v, err := d.anyValue()
		if err != nil {
			return err
		}
		s.Values = append(s.Values, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, d.endCount(uint32(len(s.Values)))
}

// arrayBuffer reads 'B' (ArrayBuffer) or '~' (resizable ArrayBuffer).
func (d *decoder) arrayBuffer(t byte, off int) (any, error) {
	id := d.newID(off)
	n, err := d.varint32()
	if err != nil {
		return nil, err
	}
	max := n
	if t == tagResizableAB {
		moff := d.pos
		if max, err = d.varint32(); err != nil {
			return nil, err
		}
		if n > max {
			return nil, d.errAt(moff, "ArrayBuffer length %d is over its maximum %d", n, max)
		}
	}
	b, err := d.raw(n)
	if err != nil {
		return nil, err
	}
	data := append([]byte{}, b...)
	var v any = jsvalue.ArrayBuffer(data)
	if t == tagResizableAB {
		v = jsvalue.ResizableArrayBuffer{Data: data, MaxByteLength: max}
	}
	d.setReady(id, v)
	return v, nil
}

// view reads a native view ('V') of buf, which was just decoded.
func (d *decoder) view(buf []byte, resizable bool) (any, error) {
	off := d.pos - 1
	sub, err := d.varint32()
	if err != nil {
		return nil, err
	}
	start, err := d.varint32()
	if err != nil {
		return nil, err
	}
	n, err := d.varint32()
	if err != nil {
		return nil, err
	}
	if uint64(start) > uint64(len(buf)) || uint64(n) > uint64(len(buf))-uint64(start) {
		return nil, d.errAt(off, "view [%d, +%d) is outside its %d-byte buffer", start, n, len(buf))
	}
	if d.ver >= 14 {
		flags, err := d.varint32()
		if err != nil {
			return nil, err
		}
		tracking, rab := flags&1 != 0, flags&2 != 0
		if (tracking || rab) && !resizable || resizable && !rab {
			return nil, d.errAt(off, "view flags %d do not match its buffer", flags)
		}
	}
	id := d.newID(off)
	kind := -1
	switch sub {
	case 'b':
		kind = hostInt8
	case 'B':
		kind = hostUint8
	case 'C':
		kind = hostUint8Clamped
	case 'w':
		kind = hostInt16
	case 'W':
		kind = hostUint16
	case 'd':
		kind = hostInt32
	case 'D':
		kind = hostUint32
	case 'f':
		kind = hostFloat32
	case 'F':
		kind = hostFloat64
	case 'q':
		kind = hostBigInt64
	case 'Q':
		kind = hostBigUint64
	case 'h':
		kind = hostFloat16
	case '?':
		kind = hostDataView
	default:
		return nil, d.errAt(off, "unknown view type 0x%02x", sub)
	}
	size := hostElemSize[kind]
	if start%size != 0 || n%size != 0 {
		return nil, d.errAt(off, "view offset %d or length %d is not a multiple of %d", start, n, size)
	}
	// Byte views share the buffer's memory, as they do in JavaScript.
	v := viewValue(kind, buf[start:start+n:start+n], true)
	d.setReady(id, v)
	return v, nil
}

// hostElemSize is the element size of each host view type index.
var hostElemSize = [...]uint32{1, 1, 1, 2, 2, 4, 4, 4, 8, 1, 1, 8, 8, 2}

// viewValue builds the Go value for a view of type index kind over b (a
// whole number of elements long). Byte types share b if share is set.
func viewValue(kind int, b []byte, share bool) any {
	if !share && hostElemSize[kind] == 1 {
		b = append([]byte{}, b...)
	}
	switch kind {
	case hostInt8:
		return nativeSlice[int8](b)
	case hostUint8:
		return jsvalue.Uint8Array(b)
	case hostUint8Clamped:
		return jsvalue.Uint8ClampedArray(b)
	case hostInt16:
		return nativeSlice[int16](b)
	case hostUint16:
		return nativeSlice[uint16](b)
	case hostFloat16:
		return jsvalue.Float16Array(nativeSlice[uint16](b))
	case hostInt32:
		return nativeSlice[int32](b)
	case hostUint32:
		return nativeSlice[uint32](b)
	case hostFloat32:
		return nativeSlice[float32](b)
	case hostFloat64:
		return nativeSlice[float64](b)
	case hostDataView:
		return jsvalue.DataView(b)
	case hostBuffer:
		return jsvalue.Buffer(b)
	case hostBigInt64:
		return nativeSlice[int64](b)
	default: // hostBigUint64
		return nativeSlice[uint64](b)
	}
}

// nativeSlice copies b into a new []T of len(b)/size(T) elements: V8
// writes typed arrays in the machine's byte order, as Go keeps them.
func nativeSlice[T int8 | int16 | uint16 | int32 | uint32 | float32 | float64 | int64 | uint64](b []byte) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	s := make([]T, len(b)/size)
	if len(s) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size), b)
	}
	return s
}

// hostObject reads Node's host object: 0 and a view, or 1 and a value.
func (d *decoder) hostObject(off int) (any, error) {
	id := d.newID(off)
	sub, err := d.varint32()
	if err != nil {
		return nil, err
	}
	switch sub {
	case hostView:
		toff := d.pos
		kind, err := d.varint32()
		if err != nil {
			return nil, err
		}
		if kind > hostFloat16 {
			return nil, d.errAt(toff, "unknown typed array type index %d", kind)
		}
		n, err := d.varint32()
		if err != nil {
			return nil, err
		}
		b, err := d.raw(n)
		if err != nil {
			return nil, err
		}
		// Node's typed array constructors drop a partial last element.
		size := hostElemSize[kind]
		v := viewValue(int(kind), b[:len(b)/int(size)*int(size)], false)
		d.setReady(id, v)
		return v, nil
	case hostOther:
		if err := d.deeper(); err != nil {
			return nil, err
		}
		v, err := d.anyValue()
		d.depth--
		if err != nil {
			return nil, err
		}
		if !isObjectValue(v) {
			return nil, d.errAt(off, "host object must hold an object, not %T", v)
		}
		d.setReady(id, v)
		return v, nil
	}
	return nil, d.errAt(off, "unknown host object tag %d", sub)
}

// isObjectValue reports whether a decoded value is a JavaScript object
// (as opposed to a primitive).
func isObjectValue(v any) bool {
	switch v.(type) {
	case nil, bool, float64, string, jsvalue.Undefined, *big.Int:
		return false
	}
	return true
}

func (d *decoder) jsError(off int) (any, error) {
	id := d.newID(off)
	e := &jsvalue.Error{Name: "Error"}
	for {
		soff := d.pos
		sub, err := d.varint32()
		if err != nil {
			return nil, err
		}
		switch sub {
		case errEval:
			e.Name = "EvalError"
		case errRange:
			e.Name = "RangeError"
		case errReference:
			e.Name = "ReferenceError"
		case errSyntax:
			e.Name = "SyntaxError"
		case errType:
			e.Name = "TypeError"
		case errURI:
			e.Name = "URIError"
		case errMessage:
			if e.Message, err = d.str(); err != nil {
				return nil, err
			}
		case errStack:
			if e.Stack, err = d.str(); err != nil {
				return nil, err
			}
		case errCause:
			// V8 12.4+ (Node 22+) makes the error referable before its
			// cause, so an error can be its own cause; V8 11 (Node 20)
			// only at the end. Accept both.
			d.setReady(id, e)
			e.HasCause = true
			if e.Cause, err = d.anyValue(); err != nil {
				return nil, err
			}
		case errEnd:
			d.setReady(id, e)
			return e, nil
		default:
			return nil, d.errAt(soff, "unknown Error field tag 0x%02x", sub)
		}
	}
}
