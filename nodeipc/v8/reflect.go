package v8

// Decoding into typed Go values, and the per-type information shared with
// the encoder (struct fields follow encoding/json's rules).

import (
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"nodeipc.dev/nodeipc/jsvalue"
)

// v8Field is one encodable struct field.
type v8Field struct {
	name      string
	key       []byte // the key pre-encoded, or nil to encode it each time
	index     []int
	omitEmpty bool
	omitZero  bool
}

// v8Struct is the field list of a struct type.
type v8Struct struct {
	fields []v8Field
	byName map[string]int
}

var v8StructCache sync.Map // reflect.Type -> *v8Struct

// structInfo returns the cached field information for struct type t.
func structInfo(t reflect.Type) *v8Struct {
	if s, ok := v8StructCache.Load(t); ok {
		return s.(*v8Struct)
	}
	s := &v8Struct{fields: structFields(t), byName: make(map[string]int)}
	for i, f := range s.fields {
		s.byName[f.name] = i
		if isASCII([]byte(f.name)) {
			s.fields[i].key = keyBytes(f.name)
		}
	}
	v, _ := v8StructCache.LoadOrStore(t, s)
	return v.(*v8Struct)
}

// structFields lists the fields of t the way encoding/json does: exported
// fields, json tag names, "-" skipped, embedded structs flattened, and the
// shallowest (or only tagged) field winning a name conflict.
func structFields(t reflect.Type) []v8Field {
	type cand struct {
		f      v8Field
		depth  int
		tagged bool
	}
	var all []cand
	var walk func(t reflect.Type, index []int, depth int, path map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, depth int, path map[reflect.Type]bool) {
		path[t] = true
		defer delete(path, t)
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, index...), i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
				if name == "" && ft.Kind() == reflect.Struct {
					if !path[ft] {
						walk(ft, idx, depth+1, path)
					}
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			c := cand{depth: depth, tagged: name != ""}
			if name == "" {
				name = sf.Name
			}
			c.f = v8Field{name: name, index: idx}
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "omitempty":
					c.f.omitEmpty = true
				case "omitzero":
					c.f.omitZero = true
				}
			}
			all = append(all, c)
		}
	}
	walk(t, nil, 0, map[reflect.Type]bool{})

	// Resolve name conflicts, keeping the order of the first occurrence.
	byName := map[string][]int{}
	for i, c := range all {
		byName[c.f.name] = append(byName[c.f.name], i)
	}
	var out []v8Field
	for i, c := range all {
		group := byName[c.f.name]
		if group[0] != i {
			continue
		}
		best, n := -1, 0
		minDepth := math.MaxInt
		for _, j := range group {
			minDepth = min(minDepth, all[j].depth)
		}
		for _, j := range group {
			if all[j].depth == minDepth && (best < 0 || all[j].tagged && !all[best].tagged) {
				best = j
			}
		}
		for _, j := range group {
			if all[j].depth == minDepth && all[j].tagged == all[best].tagged {
				n++
			}
		}
		if n == 1 {
			out = append(out, all[best].f)
		}
	}
	return out
}

// Types with a fixed meaning in the mapping.
var (
	anyType      = reflect.TypeFor[any]()
	timeType     = reflect.TypeFor[time.Time]()
	bigIntType   = reflect.TypeFor[big.Int]()
	mapAnyType   = reflect.TypeFor[map[string]any]()
	sliceAnyType = reflect.TypeFor[[]any]()
)

// specialTypes are the struct types decoded by building the generic value
// first: the types that stand for JavaScript objects with no JSON
// equivalent.
var specialTypes = map[reflect.Type]bool{
	timeType: true, bigIntType: true,
	reflect.TypeFor[jsvalue.RegExp](): true, reflect.TypeFor[jsvalue.Map](): true, reflect.TypeFor[jsvalue.Set](): true,
	reflect.TypeFor[jsvalue.Array](): true, reflect.TypeFor[jsvalue.Error](): true, reflect.TypeFor[jsvalue.Boxed](): true,
	reflect.TypeFor[jsvalue.Undefined](): true, reflect.TypeFor[jsvalue.Hole](): true, reflect.TypeFor[jsvalue.InvalidDate](): true,
	reflect.TypeFor[jsvalue.ResizableArrayBuffer](): true, reflect.TypeFor[jsvalue.Object](): true,
}

func isSpecialType(t reflect.Type) bool { return specialTypes[t] }

// value decodes the next value into rv, which must be settable.
func (d *decoder) value(rv reflect.Value) error {
	t, off, err := d.valueTag()
	if err != nil {
		return err
	}
	nested, err := d.enter(t)
	if err != nil {
		return err
	}
	err = d.typed(t, off, rv)
	if nested {
		d.depth--
	}
	return err
}

func (d *decoder) typeErr(off int, t byte, rt reflect.Type) error {
	return d.errAt(off, "cannot decode %s into Go %s", v8TagName(t), rt)
}

// v8TagName names a tag for error messages.
func v8TagName(t byte) string {
	switch t {
	case tagTrue, tagFalse:
		return "a boolean"
	case tagInt32, tagUint32, tagDouble:
		return "a number"
	case tagBigInt:
		return "a BigInt"
	case tagOneByteString, tagTwoByteString, tagUTF8String:
		return "a string"
	case tagBeginObject:
		return "an object"
	case tagBeginDense, tagBeginSparse:
		return "an array"
	case tagBeginMap:
		return "a Map"
	case tagBeginSet:
		return "a Set"
	case tagDate:
		return "a Date"
	case tagRegExp:
		return "a RegExp"
	case tagError:
		return "an Error"
	case tagHostObject:
		return "a typed array or Buffer"
	}
	return "tag " + strconv.QuoteRune(rune(t))
}

// typed decodes a value whose tag t, at off, has been consumed, into rv.
func (d *decoder) typed(t byte, off int, rv reflect.Value) error {
	rt := rv.Type()
	kind := rt.Kind()
	if t == tagNull || t == tagUndefined {
		switch {
		case rt == anyType && t == tagUndefined:
			rv.Set(reflect.ValueOf(jsvalue.Undefined{}))
		case kind == reflect.Pointer || kind == reflect.Map || kind == reflect.Slice || kind == reflect.Interface:
			rv.SetZero()
		}
		return nil
	}
	if t == tagRef {
		return d.typedRef(off, rv)
	}
	if kind == reflect.Interface ||
		kind == reflect.Struct && isSpecialType(rt) ||
		kind == reflect.Pointer && rt.Elem().Kind() == reflect.Struct && isSpecialType(rt.Elem()) {
		return d.generic(t, off, rv)
	}
	switch kind {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(rt.Elem()))
		}
		d.pendingPtr = rv
		err := d.typed(t, off, rv.Elem())
		d.pendingPtr = reflect.Value{}
		return err
	case reflect.Bool:
		if t != tagTrue && t != tagFalse {
			return d.typeErr(off, t, rt)
		}
		rv.SetBool(t == tagTrue)
		return nil
	case reflect.String:
		if t != tagOneByteString && t != tagTwoByteString && t != tagUTF8String {
			return d.typeErr(off, t, rt)
		}
		s, err := d.stringBody(t, nil)
		rv.SetString(s)
		return err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return d.typedNumber(t, off, rv)
	case reflect.Struct:
		if t != tagBeginObject {
			return d.typeErr(off, t, rt)
		}
		return d.typedStruct(off, rv)
	case reflect.Map:
		switch t {
		case tagBeginObject:
			if rt == mapAnyType {
				// Maps throughout: the objects inside come as maps too.
				d.maps++
				err := d.generic(t, off, rv)
				d.maps--
				return err
			}
			return d.typedObjectMap(off, rv)
		case tagBeginMap:
			return d.typedJSMap(off, rv)
		}
		return d.typeErr(off, t, rt)
	case reflect.Slice, reflect.Array:
		switch t {
		case tagBeginDense, tagBeginSparse:
			if rt == sliceAnyType {
				return d.generic(t, off, rv)
			}
			return d.typedArray(t, off, rv)
		case tagBeginSet:
			return d.typedSet(off, rv)
		case tagHostObject, tagArrayBuffer, tagResizableAB:
			return d.generic(t, off, rv)
		}
		return d.typeErr(off, t, rt)
	}
	return d.typeErr(off, t, rt)
}

// generic decodes into an any and assigns the result to rv.
func (d *decoder) generic(t byte, off int, rv reflect.Value) error {
	v, err := d.anyTagged(t, off)
	if err != nil {
		return err
	}
	return d.assign(off, t, v, rv)
}

// assign stores a decoded value in rv, converting where the Go types
// agree: *T into T or T into *T, and byte or typed slices into named
// types with the same element type.
func (d *decoder) assign(off int, t byte, v any, rv reflect.Value) error {
	rt := rv.Type()
	if v == nil {
		rv.SetZero()
		return nil
	}
	x := reflect.ValueOf(v)
	xt := x.Type()
	switch {
	case xt.AssignableTo(rt):
		rv.Set(x)
	case xt.Kind() == reflect.Pointer && xt.Elem().AssignableTo(rt):
		rv.Set(x.Elem())
	case rt.Kind() == reflect.Pointer && xt.AssignableTo(rt.Elem()):
		p := reflect.New(rt.Elem())
		p.Elem().Set(x)
		rv.Set(p)
	case xt.Kind() == reflect.Slice && rt.Kind() == reflect.Slice && xt.Elem() == rt.Elem() && xt.ConvertibleTo(rt):
		rv.Set(x.Convert(rt))
	case xt.Kind() == reflect.Slice && rt.Kind() == reflect.Slice && xt.Elem().Kind() == reflect.Uint8 && rt.Elem().Kind() == reflect.Uint8:
		rv.Set(reflect.ValueOf(x.Bytes()).Convert(rt))
	default:
		return d.errAt(off, "cannot decode %s (Go %T) into Go %s", v8TagName(t), v, rt)
	}
	return nil
}

// typedRef resolves a '^' reference into rv: the Go pointer, map or slice
// the object was decoded into if the types match, otherwise the object is
// decoded again into rv's type.
func (d *decoder) typedRef(off int, rv reflect.Value) error {
	id, err := d.refID(off)
	if err != nil {
		return err
	}
	r := &d.ids[id]
	rt := rv.Type()
	if r.rv.IsValid() && r.rv.Type().AssignableTo(rt) {
		rv.Set(r.rv)
		return nil
	}
	if r.val != nil {
		if rt == anyType {
			rv.Set(reflect.ValueOf(r.val))
			return nil
		}
		if xt := reflect.TypeOf(r.val); xt.AssignableTo(rt) || (xt.Kind() == reflect.Pointer && xt.Elem().AssignableTo(rt)) {
			return d.assign(off, tagRef, r.val, rv)
		}
	}
	if rt == anyType && r.rv.IsValid() {
		rv.Set(r.rv)
		return nil
	}
	return d.replayAt(r.off, func() error { return d.value(rv) })
}

// typedNumber decodes a number (or a BigInt, into integers) into rv,
// exactly: an integer field only takes an integral value in its range.
func (d *decoder) typedNumber(t byte, off int, rv reflect.Value) error {
	rt := rv.Type()
	var f float64
	switch t {
	case tagInt32:
		i, err := d.zigzag32()
		if err != nil {
			return err
		}
		f = float64(i)
	case tagUint32:
		u, err := d.varint32()
		if err != nil {
			return err
		}
		f = float64(u)
	case tagDouble:
		var err error
		if f, err = d.double(); err != nil {
			return err
		}
	case tagBigInt:
		x, err := d.bigInt()
		if err != nil {
			return err
		}
		switch rt.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if x.IsInt64() && !rv.OverflowInt(x.Int64()) {
				rv.SetInt(x.Int64())
				return nil
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if x.IsUint64() && !rv.OverflowUint(x.Uint64()) {
				rv.SetUint(x.Uint64())
				return nil
			}
		default:
			return d.typeErr(off, t, rt)
		}
		return d.errAt(off, "BigInt %s overflows Go %s", x, rt)
	default:
		return d.typeErr(off, t, rt)
	}
	switch rt.Kind() {
	case reflect.Float32, reflect.Float64:
		if rt.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return d.errAt(off, "number %v overflows Go %s", f, rt)
		}
		rv.SetFloat(f)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 && !rv.OverflowInt(int64(f)) {
			rv.SetInt(int64(f))
			return nil
		}
	default:
		if f == math.Trunc(f) && f >= 0 && f < 1<<64 && !rv.OverflowUint(uint64(f)) {
			rv.SetUint(uint64(f))
			return nil
		}
	}
	return d.errAt(off, "number %v does not fit Go %s", f, rt)
}

// fieldFor finds the struct field for a key: exact match first, then a
// case-insensitive one, as encoding/json does.
func (si *v8Struct) fieldFor(name []byte) int {
	if i, ok := si.byName[string(name)]; ok {
		return i
	}
	for i := range si.fields {
		if strings.EqualFold(si.fields[i].name, string(name)) {
			return i
		}
	}
	return -1
}

// structKey reads a property key and returns the matching field, or -1.
// ASCII keys, the common case, are matched without allocating.
func (d *decoder) structKey(si *v8Struct) (int, error) {
	t, next := d.peek()
	if next >= 0 && t == tagOneByteString {
		save := d.pos
		d.pos = next
		n, err := d.varint32()
		if err != nil {
			return -1, err
		}
		b, err := d.raw(n)
		if err != nil {
			return -1, err
		}
		if isASCII(b) {
			return si.fieldFor(b), nil
		}
		d.pos = save
	}
	k, err := d.key()
	if err != nil {
		return -1, err
	}
	return si.fieldFor([]byte(k.str())), nil
}

// fieldValue returns the field at index. A nil embedded pointer on the way
// is allocated if alloc is set (decoding), and otherwise makes the field
// absent (encoding).
func fieldValue(rv reflect.Value, index []int, alloc bool) reflect.Value {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				if !alloc || !rv.CanSet() {
					return reflect.Value{}
				}
				rv.Set(reflect.New(rv.Type().Elem()))
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv
}

// skip decodes and drops a value, still assigning its object ids.
func (d *decoder) skip() error {
	_, err := d.anyValue()
	return err
}

func (d *decoder) typedStruct(off int, rv reflect.Value) error {
	si := structInfo(rv.Type())
	id := d.newID(off)
	d.setReady(id, nil)
	n := uint32(0)
	err := d.until(tagEndObject, func() error {
		i, err := d.structKey(si)
		if err != nil {
			return err
		}
		n++
		var fv reflect.Value
		if i >= 0 {
			fv = fieldValue(rv, si.fields[i].index, true)
		}
		if fv.IsValid() {
			return d.value(fv)
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	return d.endCount(n)
}

// mapKey converts a property key to a Go map key of type kt.
func (d *decoder) mapKey(off int, k *v8Key, kt reflect.Type) (reflect.Value, error) {
	kv := reflect.New(kt).Elem()
	s := k.str()
	switch kt.Kind() {
	case reflect.String:
		kv.SetString(s)
		return kv, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil && !kv.OverflowInt(n) {
			kv.SetInt(n)
			return kv, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil && !kv.OverflowUint(n) {
			kv.SetUint(n)
			return kv, nil
		}
	}
	return kv, d.errAt(off, "cannot use property %q as a Go %s map key", s, kt)
}

func (d *decoder) typedObjectMap(off int, rv reflect.Value) error {
	rt := d.beginMap(off, rv)
	n := uint32(0)
	err := d.until(tagEndObject, func() error {
		koff := d.pos
		k, err := d.key()
		if err != nil {
			return err
		}
		kv, err := d.mapKey(koff, &k, rt.Key())
		if err != nil {
			return err
		}
		ev := reflect.New(rt.Elem()).Elem()
		if err := d.value(ev); err != nil {
			return err
		}
		rv.SetMapIndex(kv, ev)
		n++
		return nil
	})
	if err != nil {
		return err
	}
	return d.endCount(n)
}

// beginMap makes the Go map rv (if it is nil) for the object or Map at
// off, and registers it for back references.
func (d *decoder) beginMap(off int, rv reflect.Value) reflect.Type {
	rt := rv.Type()
	if rv.IsNil() {
		rv.Set(reflect.MakeMap(rt))
	}
	id := d.newID(off)
	if id >= 0 {
		d.ids[id].rv = rv
	}
	d.setReady(id, nil)
	return rt
}

func (d *decoder) typedJSMap(off int, rv reflect.Value) error {
	rt := d.beginMap(off, rv)
	n := uint32(0)
	err := d.until(tagEndMap, func() error {
		kv := reflect.New(rt.Key()).Elem()
		if err := d.value(kv); err != nil {
			return err
		}
		ev := reflect.New(rt.Elem()).Elem()
		if err := d.value(ev); err != nil {
			return err
		}
		rv.SetMapIndex(kv, ev)
		n += 2
		return nil
	})
	if err != nil {
		return err
	}
	return d.endCount(n)
}

// typedArray decodes a dense or sparse array into a slice or Go array.
// Holes become zero values, and named properties are dropped.
func (d *decoder) typedArray(t byte, off int, rv reflect.Value) error {
	rt := rv.Type()
	n, err := d.varint32()
	if err != nil {
		return err
	}
	if t == tagBeginDense && (uint64(n) > uint64(len(d.buf)-d.pos) || n > v8MaxArrayLength) {
		return d.errAt(off, "dense array length %d is more than the payload can hold", n)
	}
	// grow is set when allocating n elements of this Go type up front would
	// cost far more memory than the payload justifies: the slice then
	// grows as elements actually arrive.
	grow := false
	if rt.Kind() == reflect.Slice {
		fits := uint64(n)*uint64(rt.Elem().Size()) <= uint64(1<<20+16*len(d.buf))
		if t == tagBeginSparse {
			if uint64(n) > uint64(d.holes) || n > v8MaxArrayLength || !fits {
				return d.errAt(off, "sparse array of length %d is too long for a Go %s", n, rt)
			}
			d.holes -= int(n)
		}
		if fits {
			rv.Set(reflect.MakeSlice(rt, int(n), int(n)))
		} else {
			rv.Set(reflect.MakeSlice(rt, 0, 0))
			grow = true
		}
	} else {
		rv.SetZero()
	}
	id := d.newID(off)
	if id >= 0 && rt.Kind() == reflect.Slice {
		d.ids[id].rv = rv
	}
	d.setReady(id, nil)
	if t == tagBeginDense {
		for i := 0; i < int(n); i++ {
			t, next := d.peek()
			if next < 0 {
				return d.truncated()
			}
			if grow {
				rv.Set(reflect.Append(rv, reflect.Zero(rt.Elem())))
			}
			if t == tagHole {
				d.pos = next
				continue
			}
			if i < rv.Len() {
				err = d.value(rv.Index(i))
			} else {
				err = d.skip()
			}
			if err != nil {
				return err
			}
		}
	}
	end := byte(tagEndDense)
	if t == tagBeginSparse {
		end = tagEndSparse
	}
	nprops := uint32(0)
	err = d.until(end, func() error {
		k, err := d.key()
		if err != nil {
			return err
		}
		nprops++
		if k.idx >= 0 && k.idx < int64(rv.Len()) {
			return d.value(rv.Index(int(k.idx)))
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	return d.endArray(nprops, n)
}

func (d *decoder) typedSet(off int, rv reflect.Value) error {
	rt := rv.Type()
	if rt.Kind() != reflect.Slice {
		return d.typeErr(off, tagBeginSet, rt)
	}
	rv.Set(reflect.MakeSlice(rt, 0, 0))
	id := d.newID(off)
	d.setReady(id, nil)
	n := uint32(0)
	err := d.until(tagEndSet, func() error {
		ev := reflect.New(rt.Elem()).Elem()
		if err := d.value(ev); err != nil {
			return err
		}
		rv.Set(reflect.Append(rv, ev))
		n++
		return nil
	})
	if err != nil {
		return err
	}
	return d.endCount(n)
}
