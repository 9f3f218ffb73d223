package jsvalue

// The JSON view: JavaScript values that JSON cannot express are written as
// tagged objects {"$js": TYPE, ...} and read back into the same values. See
// PROTOCOL.md, "JSON view of advanced values".

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

	"nodeipc.dev/internal/jsontext"
)

// jsTag is the key of a tagged object.
const jsTag = "$js"

// ErrInvalidJSON is wrapped by every error of FromJSON: the text is not one
// valid JSON value in valid UTF-8, or a tagged object in it is malformed or
// stands for something JSON cannot rebuild (a cycle).
var ErrInvalidJSON = errors.New("jsvalue: invalid JSON view")

// AppendJSON appends the JSON view of v to dst as one line of JSON text,
// without a newline: JSON where JSON can say it, and a tagged object
// {"$js": TYPE, ...} where it cannot (undefined, NaN, ±Infinity, -0,
// BigInt, Date, Map, Set, RegExp, Error, binary data and typed arrays,
// holes, sparse arrays, boxed primitives, and an object that has a "$js"
// key itself). Object keys are written sorted; strings as
// JSON.stringify writes them, lone surrogates as \udXXX; a cycle as
// {"$js":"circular"}. v is a value as decoding into any produces it (see
// the package documentation); other Go values inside it are written with
// encoding/json's rules, and the error is theirs. On error dst is returned
// unchanged.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	w := jsonView{seen: map[uintptr]bool{}}
	out, err := w.append(dst, v)
	if err != nil {
		return dst, fmt.Errorf("jsvalue: %w", err)
	}
	return out, nil
}

// FromJSON parses JSON text into Go values, turning the tagged objects that
// AppendJSON writes back into the JavaScript values they stand for, so that
// a value survives AppendJSON and FromJSON unchanged (except a cycle, which
// is an error). Plain JSON gives map[string]any, []any, float64, string,
// bool and nil. Errors wrap ErrInvalidJSON.
func FromJSON(data []byte) (any, error) {
	v, err := jsontext.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	return untag(v)
}

// jsonView holds the state of one AppendJSON call.
type jsonView struct {
	seen map[uintptr]bool // containers on the current path (cycles)
}

func (w *jsonView) tagged(dst []byte, typ string, fields ...any) ([]byte, error) {
	dst = append(dst, `{"$js":`...)
	dst = jsontext.AppendString(dst, typ)
	var err error
	for i := 0; i+1 < len(fields); i += 2 {
		dst = append(dst, ',')
		dst = jsontext.AppendString(dst, fields[i].(string))
		dst = append(dst, ':')
		if dst, err = w.append(dst, fields[i+1]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// enter reports whether the container at p is already on the path (a
// cycle), and marks it otherwise.
func (w *jsonView) enter(p uintptr) bool {
	if p == 0 {
		return false
	}
	if w.seen[p] {
		return true
	}
	w.seen[p] = true
	return false
}

func (w *jsonView) append(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return jsontext.AppendString(dst, x), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return w.tagged(dst, "number", "value", "NaN")
		case math.IsInf(x, 1):
			return w.tagged(dst, "number", "value", "Infinity")
		case math.IsInf(x, -1):
			return w.tagged(dst, "number", "value", "-Infinity")
		case x == 0 && math.Signbit(x):
			return w.tagged(dst, "number", "value", "-0")
		}
		return jsontext.Append(dst, x)
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
	// Containers: guard against cycles.
	p := reflect.ValueOf(v)
	if (p.Kind() == reflect.Map || p.Kind() == reflect.Pointer || p.Kind() == reflect.Slice) && !p.IsNil() {
		id := p.Pointer()
		if w.enter(id) {
			return w.tagged(dst, "circular")
		}
		defer delete(w.seen, id)
	}
	switch x := v.(type) {
	case map[string]any:
		if _, clash := x[jsTag]; clash {
			// A real object with a "$js" key: wrap it so it is not read as a tag.
			dst = append(dst, `{"$js":"Object","value":`...)
			if dst, err = w.object(dst, x); err != nil {
				return dst, err
			}
			return append(dst, '}'), nil
		}
		return w.object(dst, x)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = w.append(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case *Map:
		entries := make([]any, len(x.Entries))
		for i, e := range x.Entries {
			entries[i] = []any{e.Key, e.Value}
		}
		return w.tagged(dst, "Map", "entries", entries)
	case *Set:
		return w.tagged(dst, "Set", "values", x.Values)
	case *Array:
		elems := make(map[string]any, len(x.Elements))
		for i, e := range x.Elements {
			elems[strconv.FormatUint(uint64(i), 10)] = e
		}
		props := x.Props
		if props == nil {
			props = map[string]any{}
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

func (w *jsonView) object(dst []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsontext.AppendString(dst, k)
		dst = append(dst, ':')
		if dst, err = w.append(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func (w *jsonView) bytes(dst []byte, typ string, b []byte) ([]byte, error) {
	return w.tagged(dst, typ, "base64", base64.StdEncoding.EncodeToString(b))
}

// numbers writes a typed array; 64-bit integer elements (BigInt64Array) are
// written as decimal strings, which float64 could not hold exactly.
func (w *jsonView) numbers(dst []byte, typ string, s any, key string) ([]byte, error) {
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
	case map[string]any:
		typ, ok := x[jsTag].(string)
		if !ok {
			for k, e := range x {
				u, err := untag(e)
				if err != nil {
					return nil, err
				}
				x[k] = u
			}
			return x, nil
		}
		return untagOne(typ, x)
	}
	return v, nil
}

func untagOne(typ string, x map[string]any) (any, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: {\"$js\":%q}: %s", ErrInvalidJSON, typ, why)
	}
	str := func(k string) (string, bool) { s, ok := x[k].(string); return s, ok }
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
	inner := func(k string) (any, error) { return untag(x[k]) }
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
		if ms, ok := x["ms"].(float64); ok {
			return time.UnixMilli(int64(ms)).UTC(), nil
		}
		if s, ok := str("iso"); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, bad(err.Error())
			}
			return t.UTC(), nil
		}
		if v, ok := x["ms"]; ok && v == nil {
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
		m, ok := x["value"].(map[string]any)
		if !ok {
			return nil, bad("value must be an object")
		}
		for k, e := range m {
			u, err := untag(e)
			if err != nil {
				return nil, err
			}
			m[k] = u
		}
		return m, nil
	case "Map":
		entries, ok := x["entries"].([]any)
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
		vals, ok := x["values"].([]any)
		if !ok {
			return nil, bad("values must be an array")
		}
		if _, err := untag(vals); err != nil {
			return nil, err
		}
		return &Set{Values: vals}, nil
	case "Array":
		n, _ := x["length"].(float64)
		elems, _ := x["elements"].(map[string]any)
		a := &Array{Length: uint32(n), Elements: make(map[uint32]any, len(elems))}
		for k, e := range elems {
			i, err := strconv.ParseUint(k, 10, 32)
			if err != nil || uint32(i) >= a.Length {
				return nil, bad("element index out of range")
			}
			u, err := untag(e)
			if err != nil {
				return nil, err
			}
			a.Elements[uint32(i)] = u
		}
		if props, ok := x["props"].(map[string]any); ok && len(props) > 0 {
			if _, err := untag(props); err != nil {
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
		if c, ok := x["cause"]; ok {
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
		if max, ok := x["maxByteLength"].(float64); ok {
			return ResizableArrayBuffer{Data: b, MaxByteLength: uint32(max)}, nil
		}
		return ArrayBuffer(b), nil
	}
	// Typed arrays of numbers.
	key := "data"
	if typ == "Float16Array" {
		key = "bits"
	}
	data, ok := x[key].([]any)
	if !ok {
		return nil, bad("unknown type, or no " + key + " array")
	}
	num := func(i int) (float64, error) {
		switch e := data[i].(type) {
		case float64:
			return e, nil
		case map[string]any:
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
