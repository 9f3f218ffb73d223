package jsvalue

// JSON text of JavaScript values: the JSON view, where values that JSON
// cannot express are written as tagged objects {"$js": TYPE, ...} and read
// back into the same values (see PROTOCOL.md, "JSON view of advanced
// values"), and JSON.stringify's text. One writer does both.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"nodeipc.dev/internal/jsontext"
)

// jsTag is the key of a tagged object.
const jsTag = "$js"

// ErrInvalidJSON is wrapped by every error of ParseJSON and FromJSON: the
// text is not one valid JSON value in valid UTF-8, or (FromJSON) a tagged
// object in it is malformed or stands for something JSON cannot rebuild (a
// cycle).
var ErrInvalidJSON = errors.New("jsvalue: invalid JSON")

// AppendJSON appends the JSON view of v to dst as one line of JSON text,
// without a newline: JSON where JSON can say it, and a tagged object
// {"$js": TYPE, ...} where it cannot (undefined, NaN, ±Infinity, -0,
// BigInt, Date, Map, Set, RegExp, Error, binary data and typed arrays,
// holes, sparse arrays, boxed primitives, and an object that has a "$js"
// key itself). An *Object's keys are written in its order, which is
// JavaScript's; a Go map's keys in the order the V8 encoder sends them
// (array indices ascending, then the others in byte order). Strings are
// written as JSON.stringify writes them, lone surrogates as \udXXX; a cycle
// as {"$js":"circular"}. v is a value as decoding into any produces it (see
// the package documentation); other Go values inside it are written with
// encoding/json's rules, and the error is theirs. On error dst is returned
// unchanged.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	w := jsonWriter{}
	out, err := w.value(dst, v)
	if err != nil {
		return dst, fmt.Errorf("jsvalue: %w", err)
	}
	return out, nil
}

// AppendStringify appends to dst the JSON text JavaScript's JSON.stringify
// writes for the value v stands for, without a newline: an *Object with its
// keys in its order, leaving out those whose value is Undefined; []any
// with Undefined and Hole elements as null; NaN and ±Inf as null, -0 as 0;
// strings as AppendJSON writes them. Every other Go value (a struct, a Go
// map, a *Map...) is written with encoding/json's rules, as the json
// serialization of nodeipc writes Go values. A cycle is an error, as it is
// for JSON.stringify. On error dst is returned unchanged.
func AppendStringify(dst []byte, v any) ([]byte, error) {
	w := jsonWriter{stringify: true}
	out, err := w.value(dst, v)
	if err != nil {
		return dst, fmt.Errorf("jsvalue: %w", err)
	}
	return out, nil
}

// FromJSON parses JSON text into Go values (see ParseJSON), turning the
// tagged objects that AppendJSON writes back into the JavaScript values
// they stand for, so that a value survives AppendJSON and FromJSON
// unchanged, key order included (except a cycle, which is an error).
// Errors wrap ErrInvalidJSON.
func FromJSON(data []byte) (any, error) {
	v, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	return untag(v)
}

// jsonWriter holds the state of one AppendJSON or AppendStringify call.
type jsonWriter struct {
	// stringify selects JSON.stringify's text (AppendStringify) over the
	// JSON view.
	stringify bool
	depth     int
	seen      map[uintptr]bool // containers on the current path (cycles)
}

// Bounds of the writer: nesting, and (JSON.stringify text) the depth from
// which containers are remembered to find cycles.
const (
	maxWriteDepth = 10000
	trackFrom     = 32
)

var errCycle = errors.New("a value that contains itself (JSON cannot express a cycle)")

// enter counts one level of nesting into the container at p and reports
// whether p is already on the path (a cycle). The JSON view remembers
// every container, to write the cycle where it starts; JSON.stringify
// text fails on a cycle wherever it is found, so only deep levels are
// remembered.
func (w *jsonWriter) enter(p uintptr) (bool, error) {
	w.depth++
	if w.depth > maxWriteDepth {
		return false, fmt.Errorf("a value nested more than %d levels", maxWriteDepth)
	}
	if p == 0 || w.stringify && w.depth <= trackFrom {
		return false, nil
	}
	if w.seen[p] {
		return true, nil
	}
	if w.seen == nil {
		w.seen = map[uintptr]bool{}
	}
	w.seen[p] = true
	return false, nil
}

// leave undoes enter once the container is written. A write that fails
// drops its writer, so the paths of errors need not leave.
func (w *jsonWriter) leave(p uintptr) {
	if !w.stringify || w.depth > trackFrom {
		delete(w.seen, p)
	}
	w.depth--
}

// cycle is what is written for a cycle.
func (w *jsonWriter) cycle(dst []byte) ([]byte, error) {
	if w.stringify {
		return dst, errCycle
	}
	return w.tagged(dst, "circular")
}

func (w *jsonWriter) tagged(dst []byte, typ string, fields ...any) ([]byte, error) {
	dst = append(dst, `{"$js":`...)
	dst = jsontext.AppendString(dst, typ)
	var err error
	for i := 0; i+1 < len(fields); i += 2 {
		dst = append(dst, ',')
		dst = jsontext.AppendString(dst, fields[i].(string))
		dst = append(dst, ':')
		if dst, err = w.value(dst, fields[i+1]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// value appends v: the values of JSON itself here, the others in view or
// in stringify.
func (w *jsonWriter) value(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return jsontext.AppendString(dst, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 && math.Signbit(x) {
			if w.stringify {
				if x == 0 {
					return append(dst, '0'), nil
				}
				return append(dst, "null"...), nil
			}
			return w.number(dst, x)
		}
		return jsontext.AppendFloat(dst, x, 64), nil
	case *Object:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return w.object(dst, x)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return w.array(dst, x)
	}
	if w.stringify {
		switch v.(type) {
		case Undefined, Hole:
			return append(dst, "null"...), nil
		}
		return jsontext.Append(dst, v)
	}
	return w.view(dst, v)
}

// object appends an *Object: in the view, wrapped if it has a "$js" key of
// its own; in stringify, without its Undefined properties.
func (w *jsonWriter) object(dst []byte, o *Object) ([]byte, error) {
	p := uintptr(unsafe.Pointer(o))
	if cycle, err := w.enter(p); cycle || err != nil {
		if err != nil {
			return dst, err
		}
		return w.cycle(dst)
	}
	wrap := false
	if !w.stringify {
		_, wrap = o.Get(jsTag)
	}
	if wrap {
		// A real object with a "$js" key: wrapped so it is not read as a tag.
		dst = append(dst, `{"$js":"Object","value":`...)
	}
	dst = append(dst, '{')
	first := true
	var err error
	for i := range o.members {
		m := &o.members[i]
		if w.stringify {
			if _, undef := m.value.(Undefined); undef {
				continue
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(jsontext.AppendString(dst, m.key), ':')
		if s, ok := m.value.(string); ok { // the commonest value, without a call
			dst = jsontext.AppendString(dst, s)
		} else if dst, err = w.value(dst, m.value); err != nil {
			return dst, err
		}
	}
	dst = append(dst, '}')
	if wrap {
		dst = append(dst, '}')
	}
	w.leave(p)
	return dst, nil
}

// array appends a []any.
func (w *jsonWriter) array(dst []byte, a []any) ([]byte, error) {
	var p uintptr
	if cap(a) > 0 {
		p = uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	}
	if cycle, err := w.enter(p); cycle || err != nil {
		if err != nil {
			return dst, err
		}
		return w.cycle(dst)
	}
	dst = append(dst, '[')
	var err error
	for i, e := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		if s, ok := e.(string); ok {
			dst = jsontext.AppendString(dst, s)
		} else if dst, err = w.value(dst, e); err != nil {
			return dst, err
		}
	}
	w.leave(p)
	return append(dst, ']'), nil
}

// number appends the view of NaN, ±Infinity or -0.
func (w *jsonWriter) number(dst []byte, x float64) ([]byte, error) {
	s := "-0"
	switch {
	case math.IsNaN(x):
		s = "NaN"
	case math.IsInf(x, 1):
		s = "Infinity"
	case math.IsInf(x, -1):
		s = "-Infinity"
	}
	return w.tagged(dst, "number", "value", s)
}

// view appends the JSON view of the values that are not JSON's own.
func (w *jsonWriter) view(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case Undefined:
		return w.tagged(dst, "undefined")
	case Hole:
		return w.tagged(dst, "hole")
	case InvalidDate:
		return w.tagged(dst, "Date", "ms", nil)
	case time.Time:
		// The time value (ms since the epoch) is exact for every JS date;
		// the ISO form is for people, and only exists for years 0-9999.
		ms := float64(x.UnixMilli())
		if y := x.UTC().Year(); y >= 0 && y <= 9999 {
			return w.tagged(dst, "Date", "ms", ms, "iso", x.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
		return w.tagged(dst, "Date", "ms", ms)
	case *big.Int:
		return w.tagged(dst, "bigint", "value", x.String())
	case RegExp:
		return w.tagged(dst, "RegExp", "source", x.Source, "flags", x.Flags)
	case Boxed:
		return w.tagged(dst, "Boxed", "value", x.Value)
	case Buffer:
		return w.bytes(dst, "Buffer", x)
	case Uint8Array:
		return w.bytes(dst, "Uint8Array", x)
	case Uint8ClampedArray:
		return w.bytes(dst, "Uint8ClampedArray", x)
	case DataView:
		return w.bytes(dst, "DataView", x)
	case ArrayBuffer:
		return w.bytes(dst, "ArrayBuffer", x)
	case []byte:
		return w.bytes(dst, "Buffer", x)
	case ResizableArrayBuffer:
		return w.tagged(dst, "ArrayBuffer", "base64", base64.StdEncoding.EncodeToString(x.Data), "maxByteLength", float64(x.MaxByteLength))
	case Float16Array:
		return w.numbers(dst, "Float16Array", x, "bits")
	case []int8:
		return w.numbers(dst, "Int8Array", x, "data")
	case []int16:
		return w.numbers(dst, "Int16Array", x, "data")
	case []uint16:
		return w.numbers(dst, "Uint16Array", x, "data")
	case []int32:
		return w.numbers(dst, "Int32Array", x, "data")
	case []uint32:
		return w.numbers(dst, "Uint32Array", x, "data")
	case []float32:
		return w.numbers(dst, "Float32Array", x, "data")
	case []float64:
		return w.numbers(dst, "Float64Array", x, "data")
	case []int64:
		return w.numbers(dst, "BigInt64Array", x, "data")
	case []uint64:
		return w.numbers(dst, "BigUint64Array", x, "data")
	}
	// The other containers: guard against cycles.
	p := reflect.ValueOf(v)
	if (p.Kind() == reflect.Map || p.Kind() == reflect.Pointer) && !p.IsNil() {
		id := p.Pointer()
		if cycle, err := w.enter(id); cycle || err != nil {
			if err != nil {
				return dst, err
			}
			return w.cycle(dst)
		}
		defer w.leave(id)
	}
	switch x := v.(type) {
	case map[string]any:
		return w.object(dst, ObjectFromMap(x))
	case *Map:
		entries := make([]any, len(x.Entries))
		for i, e := range x.Entries {
			entries[i] = []any{e.Key, e.Value}
		}
		return w.tagged(dst, "Map", "entries", entries)
	case *Set:
		return w.tagged(dst, "Set", "values", x.Values)
	case *Array:
		idx := make([]uint32, 0, len(x.Elements))
		for i := range x.Elements {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		elems := &Object{members: make([]member, len(idx)), nIndex: len(idx)}
		for j, i := range idx {
			elems.members[j] = member{strconv.FormatUint(uint64(i), 10), x.Elements[i]}
		}
		elems.buildIndex()
		props := x.Props
		if props == nil {
			props = &Object{}
		}
		return w.tagged(dst, "Array", "length", float64(x.Length), "elements", elems, "props", props)
	case *Error:
		fields := []any{"name", x.Name, "message", x.Message, "stack", x.Stack}
		if x.HasCause || x.Cause != nil {
			fields = append(fields, "cause", x.Cause)
		}
		return w.tagged(dst, "Error", fields...)
	}
	// Anything else (a Go value a caller built): plain JSON rules.
	return jsontext.Append(dst, v)
}

func (w *jsonWriter) bytes(dst []byte, typ string, b []byte) ([]byte, error) {
	return w.tagged(dst, typ, "base64", base64.StdEncoding.EncodeToString(b))
}

// numbers writes a typed array; 64-bit integer elements (BigInt64Array) are
// written as decimal strings, which float64 could not hold exactly.
func (w *jsonWriter) numbers(dst []byte, typ string, s any, key string) ([]byte, error) {
	rv := reflect.ValueOf(s)
	elems := make([]any, rv.Len())
	for i := range elems {
		switch e := rv.Index(i); e.Kind() {
		case reflect.Int64:
			elems[i] = strconv.FormatInt(e.Int(), 10)
		case reflect.Uint64:
			elems[i] = strconv.FormatUint(e.Uint(), 10)
		case reflect.Float32, reflect.Float64:
			elems[i] = e.Float()
		case reflect.Int8, reflect.Int16, reflect.Int32:
			elems[i] = float64(e.Int())
		default:
			elems[i] = float64(e.Uint())
		}
	}
	return w.tagged(dst, typ, key, elems)
}

// untag converts the tagged objects of a parsed JSON value back.
func untag(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i := range x {
			e, err := untag(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = e
		}
		return x, nil
	case *Object:
		if t, ok := x.Get(jsTag); ok {
			if typ, ok := t.(string); ok {
				return untagOne(typ, x)
			}
		}
		return untagMembers(x)
	}
	return v, nil
}

// untagMembers untags the values of an object that is not a tag itself.
func untagMembers(o *Object) (*Object, error) {
	for i := range o.members {
		u, err := untag(o.members[i].value)
		if err != nil {
			return nil, err
		}
		o.members[i].value = u
	}
	return o, nil
}

func untagOne(typ string, x *Object) (any, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: {\"$js\":%q}: %s", ErrInvalidJSON, typ, why)
	}
	get := func(k string) any { v, _ := x.Get(k); return v }
	str := func(k string) (string, bool) { s, ok := get(k).(string); return s, ok }
	b64 := func() ([]byte, error) {
		s, ok := str("base64")
		if !ok {
			return nil, bad("no base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return b, nil
	}
	inner := func(k string) (any, error) { return untag(get(k)) }
	switch typ {
	case "undefined":
		return Undefined{}, nil
	case "hole":
		return Hole{}, nil
	case "circular":
		return nil, bad("a circular reference cannot be rebuilt from JSON")
	case "number":
		s, _ := str("value")
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		case "-0":
			return math.Copysign(0, -1), nil
		}
		return nil, bad("value must be NaN, Infinity, -Infinity or -0")
	case "bigint":
		s, _ := str("value")
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, bad("value is not a decimal integer")
		}
		return n, nil
	case "Date":
		if ms, ok := get("ms").(float64); ok {
			return time.UnixMilli(int64(ms)).UTC(), nil
		}
		if s, ok := str("iso"); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, bad(err.Error())
			}
			return t.UTC(), nil
		}
		if v, ok := x.Get("ms"); ok && v == nil {
			return InvalidDate{}, nil
		}
		return nil, bad("no ms number or iso string")
	case "RegExp":
		src, ok1 := str("source")
		flags, ok2 := str("flags")
		if !ok1 || !ok2 {
			return nil, bad("source and flags must be strings")
		}
		return RegExp{Source: src, Flags: flags}, nil
	case "Boxed":
		v, err := inner("value")
		return Boxed{Value: v}, err
	case "Object":
		o, ok := get("value").(*Object)
		if !ok {
			return nil, bad("value must be an object")
		}
		return untagMembers(o)
	case "Map":
		entries, ok := get("entries").([]any)
		if !ok {
			return nil, bad("entries must be an array")
		}
		m := &Map{Entries: make([]MapEntry, 0, len(entries))}
		for _, e := range entries {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return nil, bad("each entry must be [key, value]")
			}
			k, err := untag(pair[0])
			if err != nil {
				return nil, err
			}
			v, err := untag(pair[1])
			if err != nil {
				return nil, err
			}
			m.Entries = append(m.Entries, MapEntry{k, v})
		}
		return m, nil
	case "Set":
		vals, ok := get("values").([]any)
		if !ok {
			return nil, bad("values must be an array")
		}
		if _, err := untag(vals); err != nil {
			return nil, err
		}
		return &Set{Values: vals}, nil
	case "Array":
		n, _ := get("length").(float64)
		elems, _ := get("elements").(*Object)
		a := &Array{Length: uint32(n), Elements: make(map[uint32]any, elems.Len())}
		for k, e := range elems.All() {
			i, ok := ArrayIndex(k)
			if !ok || i >= a.Length {
				return nil, bad("element index out of range")
			}
			u, err := untag(e)
			if err != nil {
				return nil, err
			}
			a.Elements[i] = u
		}
		if props, ok := get("props").(*Object); ok && props.Len() > 0 {
			if _, err := untagMembers(props); err != nil {
				return nil, err
			}
			a.Props = props
		}
		return a, nil
	case "Error":
		e := &Error{}
		e.Name, _ = str("name")
		e.Message, _ = str("message")
		e.Stack, _ = str("stack")
		if c, ok := x.Get("cause"); ok {
			u, err := untag(c)
			if err != nil {
				return nil, err
			}
			e.Cause, e.HasCause = u, true
		}
		return e, nil
	case "Buffer", "Uint8Array", "Uint8ClampedArray", "DataView", "ArrayBuffer":
		b, err := b64()
		if err != nil {
			return nil, err
		}
		switch typ {
		case "Buffer":
			return Buffer(b), nil
		case "Uint8Array":
			return Uint8Array(b), nil
		case "Uint8ClampedArray":
			return Uint8ClampedArray(b), nil
		case "DataView":
			return DataView(b), nil
		}
		if max, ok := get("maxByteLength").(float64); ok {
			return ResizableArrayBuffer{Data: b, MaxByteLength: uint32(max)}, nil
		}
		return ArrayBuffer(b), nil
	}
	// Typed arrays of numbers.
	key := "data"
	if typ == "Float16Array" {
		key = "bits"
	}
	data, ok := get(key).([]any)
	if !ok {
		return nil, bad("unknown type, or no " + key + " array")
	}
	num := func(i int) (float64, error) {
		switch e := data[i].(type) {
		case float64:
			return e, nil
		case *Object:
			u, err := untag(e)
			if f, ok := u.(float64); ok && err == nil {
				return f, nil
			}
		}
		return 0, bad("elements must be numbers")
	}
	build := func(mk func(n int) any, set func(i int, f float64)) (any, error) {
		out := mk(len(data))
		for i := range data {
			f, err := num(i)
			if err != nil {
				return nil, err
			}
			set(i, f)
		}
		return out, nil
	}
	switch typ {
	case "Int8Array":
		var s []int8
		return build(func(n int) any { s = make([]int8, n); return s }, func(i int, f float64) { s[i] = int8(f) })
	case "Int16Array":
		var s []int16
		return build(func(n int) any { s = make([]int16, n); return s }, func(i int, f float64) { s[i] = int16(f) })
	case "Uint16Array":
		var s []uint16
		return build(func(n int) any { s = make([]uint16, n); return s }, func(i int, f float64) { s[i] = uint16(f) })
	case "Int32Array":
		var s []int32
		return build(func(n int) any { s = make([]int32, n); return s }, func(i int, f float64) { s[i] = int32(f) })
	case "Uint32Array":
		var s []uint32
		return build(func(n int) any { s = make([]uint32, n); return s }, func(i int, f float64) { s[i] = uint32(f) })
	case "Float32Array":
		var s []float32
		return build(func(n int) any { s = make([]float32, n); return s }, func(i int, f float64) { s[i] = float32(f) })
	case "Float64Array":
		var s []float64
		return build(func(n int) any { s = make([]float64, n); return s }, func(i int, f float64) { s[i] = f })
	case "Float16Array":
		var s Float16Array
		return build(func(n int) any { s = make(Float16Array, n); return s }, func(i int, f float64) { s[i] = uint16(f) })
	case "BigInt64Array", "BigUint64Array":
		signed := typ == "BigInt64Array"
		var si []int64
		var su []uint64
		if signed {
			si = make([]int64, len(data))
		} else {
			su = make([]uint64, len(data))
		}
		for i, e := range data {
			s, ok := e.(string)
			if !ok {
				return nil, bad("elements must be decimal strings")
			}
			var err error
			if signed {
				si[i], err = strconv.ParseInt(s, 10, 64)
			} else {
				su[i], err = strconv.ParseUint(s, 10, 64)
			}
			if err != nil {
				return nil, bad(err.Error())
			}
		}
		if signed {
			return si, nil
		}
		return su, nil
	}
	return nil, bad("unknown type")
}
