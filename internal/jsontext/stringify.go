package jsontext

// The fallback encoder. Encoder.Append tries the fast JSON library first; it
// refuses NaN and ±Inf, which JSON.stringify writes as null, and only then
// is a value encoded here. The rules are encoding/json's (as documented,
// with SetEscapeHTML(false)); the differences are JavaScript's: NaN and
// ±Inf are null and -0 is 0. It walks values with reflect and favours
// clarity over speed.

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

const (
	// jsCycleAfter is how many levels of pointers, slices and maps are
	// entered before the encoder starts remembering them to detect cycles.
	jsCycleAfter = 100
	// jsMaxDepth bounds the nesting of acyclic values, so that a pathological
	// value fails with an error rather than exhausting the stack.
	jsMaxDepth = 10000
)

// The method sets that take over the encoding of a Go value, for the
// encoders and for code that predicts their output from a type.
var (
	MarshalerType     = reflect.TypeFor[json.Marshaler]()
	TextMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

var (
	jsIsZeroerType = reflect.TypeFor[interface{ IsZero() bool }]()
	jsNumberType   = reflect.TypeFor[json.Number]()
)

// appendValue appends the JSON text of v the way JavaScript's JSON.stringify would write it for
// the equivalent JS value, following encoding/json's rules for Go types, without a trailing newline.
func appendValue(dst []byte, v any) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil { // a bug here, or in reflect use: not fatal
			out, err = dst, errorf("panic while encoding %T: %v", v, r)
		}
	}()
	var e jsEncoder
	out, err = e.value(dst, reflect.ValueOf(v), false)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// errorf returns the error of a value that cannot be encoded.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// jsVisit identifies a pointer, map or slice being encoded, for cycle detection.
type jsVisit struct {
	ptr uintptr
	n   int // slice length: a shorter reslice is a different value
	t   reflect.Type
}

// jsEncoder holds the state of one appendValue call.
type jsEncoder struct {
	depth int                  // pointers, slices and maps entered
	seen  map[jsVisit]struct{} // those entered past jsCycleAfter, on the current path
}

// enter is called before encoding the contents of the non-nil pointer, map
// or slice v, and fails if v is already being encoded further up.
func (e *jsEncoder) enter(v reflect.Value) error {
	e.depth++
	if e.depth <= jsCycleAfter {
		return nil
	}
	k := jsVisitOf(v)
	if _, ok := e.seen[k]; ok {
		return errorf("json: unsupported value: encountered a cycle via %s", v.Type())
	}
	if e.depth > jsMaxDepth {
		return errorf("json: unsupported value: nested more than %d levels deep", jsMaxDepth)
	}
	if e.seen == nil {
		e.seen = make(map[jsVisit]struct{})
	}
	e.seen[k] = struct{}{}
	return nil
}

// leave undoes enter once v has been encoded.
func (e *jsEncoder) leave(v reflect.Value) {
	if e.depth > jsCycleAfter {
		delete(e.seen, jsVisitOf(v))
	}
	e.depth--
}

// jsVisitOf returns the identity of the pointer, map or slice v.
func jsVisitOf(v reflect.Value) jsVisit {
	k := jsVisit{ptr: v.Pointer(), t: v.Type()}
	if v.Kind() == reflect.Slice {
		k.n = v.Len()
	}
	return k
}

// value appends the JSON text of v. quoted is the ",string" option: it
// applies to bools, numbers and strings, directly or through one pointer.
func (e *jsEncoder) value(b []byte, v reflect.Value, quoted bool) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	t := v.Type()
	// Methods come first: MarshalJSON before MarshalText, each on the value
	// itself or, if the value is addressable, on its address.
	addressable := v.Kind() != reflect.Pointer && v.CanAddr()
	switch {
	case t.Implements(MarshalerType):
		return jsMarshalJSON(b, v)
	case addressable && reflect.PointerTo(t).Implements(MarshalerType):
		return jsMarshalJSON(b, v.Addr())
	case t.Implements(TextMarshalerType):
		return jsMarshalText(b, v)
	case addressable && reflect.PointerTo(t).Implements(TextMarshalerType):
		return jsMarshalText(b, v.Addr())
	case t == jsNumberType:
		s := v.String()
		if s == "" {
			s = "0"
		}
		if !jsValidNumber(s) {
			return b, errorf("json: invalid number literal %q", s)
		}
		return jsQuote(append(jsQuote(b, quoted), s...), quoted), nil
	}

	switch v.Kind() {
	case reflect.Bool:
		return jsQuote(strconv.AppendBool(jsQuote(b, quoted), v.Bool()), quoted), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return jsQuote(strconv.AppendInt(jsQuote(b, quoted), v.Int(), 10), quoted), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return jsQuote(strconv.AppendUint(jsQuote(b, quoted), v.Uint(), 10), quoted), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...), nil // even under ",string", like JS
		}
		return jsQuote(AppendFloat(jsQuote(b, quoted), f, t.Bits()), quoted), nil
	case reflect.String:
		if quoted { // the JSON string literal, itself as a string
			return AppendString(b, string(AppendString(nil, v.String()))), nil
		}
		return AppendString(b, v.String()), nil
	case reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return e.value(b, v.Elem(), false)
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if err := e.enter(v); err != nil {
			return b, err
		}
		b, err := e.value(b, v.Elem(), quoted)
		e.leave(v)
		return b, err
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if jsIsBytes(t) {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, v.Bytes())
			return append(b, '"'), nil
		}
		if err := e.enter(v); err != nil {
			return b, err
		}
		b, err := e.array(b, v)
		e.leave(v)
		return b, err
	case reflect.Array:
		return e.array(b, v)
	case reflect.Map:
		if !jsValidKeyType(t.Key()) { // even for a nil map, like encoding/json
			return b, errorf("json: unsupported type: %s", t)
		}
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if err := e.enter(v); err != nil {
			return b, err
		}
		b, err := e.object(b, v)
		e.leave(v)
		return b, err
	case reflect.Struct:
		return e.structFields(b, v)
	}
	// Chan, Func, Complex64, Complex128, UnsafePointer.
	return b, errorf("json: unsupported type: %s", t)
}

// jsQuote appends a double quote if quoted is set.
func jsQuote(b []byte, quoted bool) []byte {
	if quoted {
		return append(b, '"')
	}
	return b
}

// jsIsBytes reports whether the slice type t is encoded as base64: its
// elements are bytes whose address has no marshaling method.
func jsIsBytes(t reflect.Type) bool {
	el := t.Elem()
	if el.Kind() != reflect.Uint8 {
		return false
	}
	p := reflect.PointerTo(el)
	return !p.Implements(MarshalerType) && !p.Implements(TextMarshalerType)
}

// array appends the elements of a slice or array as a JSON array.
func (e *jsEncoder) array(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = e.value(b, v.Index(i), false); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// object appends a map as a JSON object with its keys sorted.
func (e *jsEncoder) object(b []byte, v reflect.Value) ([]byte, error) {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := jsMapKey(it.Key())
		if err != nil {
			return b, err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(x, y entry) int { return strings.Compare(x.key, y.key) })
	b = append(b, '{')
	for i, en := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(AppendString(b, en.key), ':')
		var err error
		if b, err = e.value(b, en.val, false); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// jsIsInteger reports whether k is a signed or unsigned integer kind.
func jsIsInteger(k reflect.Kind) bool { return reflect.Int <= k && k <= reflect.Uintptr }

// jsValidKeyType reports whether maps with keys of type t can be encoded.
func jsValidKeyType(t reflect.Type) bool {
	return t.Kind() == reflect.String || jsIsInteger(t.Kind()) || t.Implements(TextMarshalerType)
}

// jsMapKey returns the object key for the map key k: strings as they are,
// then MarshalText, then integers in decimal.
func jsMapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(TextMarshalerType) {
		m, err := jsReceiver(k, TextMarshalerType, "MarshalText")
		if err != nil || m == nil {
			return "", err // a nil key is ""
		}
		var text []byte
		err = jsCall(func() (err error) { text, err = m.(encoding.TextMarshaler).MarshalText(); return err })
		if err != nil {
			return "", errorf("json: map key of type %T: encoding error in MarshalText: %w", m, err)
		}
		return string(text), nil
	}
	if k.CanInt() {
		return strconv.FormatInt(k.Int(), 10), nil
	}
	return strconv.FormatUint(k.Uint(), 10), nil // jsValidKeyType let nothing else through
}

// jsReceiver returns the value to call the method of interface iface on, or
// nil when JSON null is written instead: for a nil pointer or interface, and
// for an interface holding a nil pointer whose method has a value receiver
// (calling it would dereference nil). A nil pointer in an interface whose
// method has a pointer receiver is called: the method may cope with nil.
func jsReceiver(v reflect.Value, iface reflect.Type, method string) (any, error) {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
		if v.Kind() == reflect.Pointer && v.IsNil() && v.Type().Elem().Implements(iface) {
			return nil, nil
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
	}
	if !v.CanInterface() {
		return nil, errorf("json: cannot call %s of %s through an unexported field", method, v.Type())
	}
	return v.Interface(), nil
}

// jsCall runs a user method, turning a panic into an error.
func jsCall(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// jsMarshalJSON appends the compacted output of v's MarshalJSON method.
func jsMarshalJSON(b []byte, v reflect.Value) ([]byte, error) {
	m, err := jsReceiver(v, MarshalerType, "MarshalJSON")
	if err != nil || m == nil {
		return append(b, "null"...), err
	}
	var raw []byte
	err = jsCall(func() (err error) { raw, err = m.(json.Marshaler).MarshalJSON(); return err })
	if err != nil {
		return b, errorf("json: error calling MarshalJSON for type %T: %w", m, err)
	}
	if !json.Valid(raw) {
		return b, errorf("json: error calling MarshalJSON for type %T: invalid JSON %.40q", m, raw)
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, errorf("json: error calling MarshalJSON for type %T: %w", m, err)
	}
	return buf.Bytes(), nil
}

// jsMarshalText appends the output of v's MarshalText method as a string.
func jsMarshalText(b []byte, v reflect.Value) ([]byte, error) {
	m, err := jsReceiver(v, TextMarshalerType, "MarshalText")
	if err != nil || m == nil {
		return append(b, "null"...), err
	}
	var text []byte
	err = jsCall(func() (err error) { text, err = m.(encoding.TextMarshaler).MarshalText(); return err })
	if err != nil {
		return b, errorf("json: error calling MarshalText for type %T: %w", m, err)
	}
	return AppendString(b, string(text)), nil
}

// jsField is a struct field to encode, found directly or through embedded structs.
type jsField struct {
	name      string
	key       []byte // `"name":`
	index     []int  // path of field indexes from the outer struct
	depth     int    // len(index)-1: how many embedded structs deep
	tagged    bool   // the name comes from a json tag
	omitEmpty bool
	omitZero  bool
	quoted    bool // ",string" on a bool, number or string (or a pointer to one)
}

var jsFieldCache sync.Map // reflect.Type → []jsField

// jsFieldsOf returns the fields encoded for struct type t, in field order.
func jsFieldsOf(t reflect.Type) []jsField {
	if f, ok := jsFieldCache.Load(t); ok {
		return f.([]jsField)
	}
	f, _ := jsFieldCache.LoadOrStore(t, jsCollectFields(t))
	return f.([]jsField)
}

// jsCollectFields walks t and its untagged embedded structs breadth first,
// then keeps, for each name, the dominant field: the only one at the
// shallowest depth where the name occurs, or the only tagged one there.
func jsCollectFields(t reflect.Type) []jsField {
	type embedded struct {
		t     reflect.Type
		index []int
	}
	var all []jsField
	explored := map[reflect.Type]bool{}
	level := []embedded{{t, nil}}
	for depth := 0; len(level) > 0; depth++ {
		count := map[reflect.Type]int{}
		for _, em := range level {
			count[em.t]++
		}
		var next []embedded
		for _, em := range level {
			if explored[em.t] { // met before, here or shallower: its names are taken
				continue
			}
			explored[em.t] = true
			for i := range em.t.NumField() {
				sf := em.t.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && !(sf.Anonymous && ft.Kind() == reflect.Struct) {
					continue // an unexported embedded struct may still promote fields
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !jsValidTagName(name) {
					name = ""
				}
				index := append(slices.Clone(em.index), i)
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, embedded{ft, index})
					continue
				}
				f := jsField{name: name, index: index, depth: depth, tagged: name != ""}
				if name == "" {
					f.name = sf.Name
				}
				f.key = append(AppendString(nil, f.name), ':')
				for o := range strings.SplitSeq(opts, ",") {
					switch o {
					case "omitempty":
						f.omitEmpty = true
					case "omitzero":
						f.omitZero = true
					case "string":
						k := ft.Kind()
						f.quoted = k == reflect.Bool || k == reflect.String || jsIsInteger(k) ||
							k == reflect.Float32 || k == reflect.Float64
					}
				}
				all = append(all, f)
				if count[em.t] > 1 { // the struct is embedded twice at this depth: ambiguous
					all = append(all, f)
				}
			}
		}
		level = next
	}

	slices.SortFunc(all, func(x, y jsField) int {
		if c := cmp.Compare(x.name, y.name); c != 0 {
			return c
		}
		if c := cmp.Compare(x.depth, y.depth); c != 0 {
			return c
		}
		if x.tagged != y.tagged {
			if x.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(x.index, y.index)
	})
	var out []jsField
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		// all[i] is the shallowest (tagged first) of the fields named so.
		if j == i+1 || all[i+1].depth > all[i].depth || (all[i].tagged && !all[i+1].tagged) {
			out = append(out, all[i])
		}
		i = j
	}
	slices.SortFunc(out, func(x, y jsField) int { return slices.Compare(x.index, y.index) })
	return out
}

// jsValidTagName reports whether a json tag name is used as the key: letters,
// digits, spaces and ASCII punctuation except quotes, backslash and comma.
func jsValidTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", r) {
			return false
		}
	}
	return true
}

// structFields appends the struct v as a JSON object.
func (e *jsEncoder) structFields(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '{')
	first := true
fields:
	for _, f := range jsFieldsOf(v.Type()) {
		fv := v
		for k, i := range f.index {
			if k > 0 && fv.Kind() == reflect.Pointer { // through an embedded pointer
				if fv.IsNil() {
					continue fields
				}
				fv = fv.Elem()
			}
			fv = fv.Field(i)
		}
		if f.omitEmpty && jsIsEmpty(fv) {
			continue
		}
		if f.omitZero {
			zero, err := jsIsZero(fv)
			if err != nil {
				return b, err
			}
			if zero {
				continue
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		if b, err = e.value(append(b, f.key...), fv, f.quoted); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// jsIsEmpty is the omitempty test: false, 0, nil pointer or interface, and
// empty array, slice, map or string.
func jsIsEmpty(v reflect.Value) bool {
	switch k := v.Kind(); {
	case k == reflect.Array || k == reflect.Map || k == reflect.Slice || k == reflect.String:
		return v.Len() == 0
	case k == reflect.Bool || jsIsInteger(k) || k == reflect.Float32 || k == reflect.Float64 ||
		k == reflect.Interface || k == reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// jsIsZero is the omitzero test: an IsZero() bool method if the type (or,
// for a non-pointer, its pointer) has one, else the Go zero value.
func jsIsZero(v reflect.Value) (bool, error) {
	t := v.Type()
	switch {
	case t.Implements(jsIsZeroerType):
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true, nil
		}
	case v.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(jsIsZeroerType):
		if !v.CanAddr() { // call the pointer method on a copy
			if !v.CanInterface() {
				return false, errorf("json: cannot call IsZero of %s through an unexported field", t)
			}
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		v = v.Addr()
	default:
		return v.IsZero(), nil
	}
	m, err := jsReceiver(v, jsIsZeroerType, "IsZero")
	if err != nil || m == nil {
		return true, err // an interface holding a nil pointer: zero
	}
	var zero bool
	err = jsCall(func() error { zero = m.(interface{ IsZero() bool }).IsZero(); return nil })
	if err != nil {
		return false, errorf("json: error calling IsZero for type %T: %w", m, err)
	}
	return zero, nil
}

// AppendFloat appends f like Number#toString (and encoding/json): the
// shortest decimal that rounds back to f at its size, in exponent form below
// 1e-6 and from 1e21. f must be finite; -0 is written 0.
func AppendFloat(b []byte, f float64, bits int) []byte {
	if f == 0 {
		return append(b, '0')
	}
	if i := int64(f); bits == 64 && float64(i) == f && i > -1e15 && i < 1e15 {
		return strconv.AppendInt(b, i, 10) // integers: the same digits, sooner
	}
	abs, format := math.Abs(f), byte('f')
	if bits == 32 {
		if a := float32(abs); a < 1e-6 || a >= 1e21 {
			format = 'e'
		}
	} else if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if n := len(b); format == 'e' && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-07 → e-7
		b = b[:n-1]
	}
	return b
}

// jsValidNumber reports whether s is a JSON number: a valid JSON text that
// starts with a minus or a digit and ends with a digit (no spaces around).
func jsValidNumber(s string) bool {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	return s != "" && (s[0] == '-' || isDigit(s[0])) && isDigit(s[len(s)-1]) && json.Valid([]byte(s))
}
