package v8

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc/jsvalue"
)

// h parses a hex string with optional spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func bigInt(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return x
}

// sameV8 compares decoded values the way JavaScript's deepStrictEqual
// would see them: -0 and 0 differ, NaN equals NaN, and []any and *Array
// holding the same elements are equal. seen guards cycles.
func sameV8(a, b any) bool { return sameV8Seen(a, b, map[[2]uintptr]bool{}) }

func sameV8Seen(a, b any, seen map[[2]uintptr]bool) bool {
	if la, ok := arrayLike(a); ok {
		lb, ok := arrayLike(b)
		if !ok || la.length != lb.length || len(la.elems) != len(lb.elems) || la.props.Len() != lb.props.Len() {
			return false
		}
		k := [2]uintptr{la.id, lb.id}
		if seen[k] {
			return true
		}
		seen[k] = true
		for i, v := range la.elems {
			w, ok := lb.elems[i]
			if !ok || !sameV8Seen(v, w, seen) {
				return false
			}
		}
		return la.props.Len() == 0 && lb.props.Len() == 0 || sameV8Seen(la.props, lb.props, seen)
	}
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || x != x && y != y)
	case []float64:
		y, ok := b.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	case []float32:
		y, ok := b.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case jsvalue.Boxed:
		y, ok := b.(jsvalue.Boxed)
		return ok && sameV8Seen(x.Value, y.Value, seen)
	case *jsvalue.Object:
		// Key order counts: it is what JavaScript sees.
		y, ok := b.(*jsvalue.Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		k := [2]uintptr{reflect.ValueOf(x).Pointer(), reflect.ValueOf(y).Pointer()}
		if seen[k] {
			return true
		}
		seen[k] = true
		xk, yk := slices.Collect(x.Keys()), slices.Collect(y.Keys())
		if !slices.Equal(xk, yk) {
			return false
		}
		for _, n := range xk {
			v, _ := x.Get(n)
			w, _ := y.Get(n)
			if !sameV8Seen(v, w, seen) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		k := [2]uintptr{reflect.ValueOf(x).Pointer(), reflect.ValueOf(y).Pointer()}
		if seen[k] {
			return true
		}
		seen[k] = true
		for n, v := range x {
			w, ok := y[n]
			if !ok || !sameV8Seen(v, w, seen) {
				return false
			}
		}
		return true
	case *jsvalue.Map:
		y, ok := b.(*jsvalue.Map)
		if !ok || len(x.Entries) != len(y.Entries) {
			return false
		}
		k := [2]uintptr{reflect.ValueOf(x).Pointer(), reflect.ValueOf(y).Pointer()}
		if seen[k] {
			return true
		}
		seen[k] = true
		for i := range x.Entries {
			if !sameV8Seen(x.Entries[i].Key, y.Entries[i].Key, seen) || !sameV8Seen(x.Entries[i].Value, y.Entries[i].Value, seen) {
				return false
			}
		}
		return true
	case *jsvalue.Set:
		y, ok := b.(*jsvalue.Set)
		if !ok || len(x.Values) != len(y.Values) {
			return false
		}
		k := [2]uintptr{reflect.ValueOf(x).Pointer(), reflect.ValueOf(y).Pointer()}
		if seen[k] {
			return true
		}
		seen[k] = true
		for i := range x.Values {
			if !sameV8Seen(x.Values[i], y.Values[i], seen) {
				return false
			}
		}
		return true
	case *jsvalue.Error:
		y, ok := b.(*jsvalue.Error)
		return ok && x.Name == y.Name && x.Message == y.Message && x.Stack == y.Stack && x.HasCause == y.HasCause && sameV8Seen(x.Cause, y.Cause, seen)
	}
	return reflect.DeepEqual(a, b)
}

// arrayView is a []any or *Array seen as JavaScript sees an array.
type arrayView struct {
	id     uintptr
	length uint32
	elems  map[uint32]any
	props  *jsvalue.Object
}

func arrayLike(v any) (arrayView, bool) {
	switch x := v.(type) {
	case []any:
		a := arrayView{length: uint32(len(x)), elems: map[uint32]any{}}
		if len(x) > 0 {
			a.id = reflect.ValueOf(x).Pointer()
		}
		for i, e := range x {
			if _, hole := e.(jsvalue.Hole); !hole {
				a.elems[uint32(i)] = e
			}
		}
		return a, true
	case *jsvalue.Array:
		return arrayView{id: reflect.ValueOf(x).Pointer(), length: x.Length, elems: x.Elements, props: x.Props}, true
	}
	return arrayView{}, false
}

// obj builds an *Object from keys and values, set in the order given.
func obj(kv ...any) *jsvalue.Object {
	o := &jsvalue.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// mustDecode decodes into an any or fails the test.
func mustDecode(t *testing.T, payload []byte) any {
	t.Helper()
	var v any
	if err := Unmarshal(payload, &v); err != nil {
		t.Fatalf("Unmarshal(% x) = %v", payload, err)
	}
	return v
}

// TestV8DecodeBytes decodes the byte captures from the protocol notes (§3).
func TestV8DecodeBytes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"str", "FF0F 22 03 737472", "str"},
		{"latin1", "FF0F 22 01 E9", "é"},
		{"two-byte lone surrogate", "FF0F 63 0A 00D8 6C00 6F00 6E00 6500", "\xed\xa0\x80lone"},
		{"utf8", "FF0F 53 03 E282AC", "€"},
		{"utf8 invalid", "FF0F 53 02 FF41", "\uFFFDA"},
		{"int32 max", "FF0F 49 FEFFFFFF0F", float64(math.MaxInt32)},
		{"uint32", "FF0F 55 FFFFFFFF0F", float64(math.MaxUint32)},
		{"minus zero", "FF0F 4E 0000000000000080", math.Copysign(0, -1)},
		{"bigint 123", "FF0F 5A 10 7B00000000000000", big.NewInt(123)},
		{"bigint -1", "FF0F 5A 11 0100000000000000", big.NewInt(-1)},
		{"bigint 0", "FF0F 5A 00", big.NewInt(0)},
		{"object int keys", "FF0F 6F 4902 4908 4904 4904 220162 4902 220161 4906 7B04",
			obj("1", 4.0, "2", 2.0, "b", 1.0, "a", 3.0)},
		{"dense", "FF0F 41 03 4902 4904 4906 24 00 03", []any{1.0, 2.0, 3.0}},
		{"dense with hole", "FF0F 41 03 4902 2D 4906 24 00 03", []any{1.0, jsvalue.Hole{}, 3.0}},
		{"sparse", "FF0F 61 03 4900 4902 4904 4906 40 02 03", []any{1.0, jsvalue.Hole{}, 3.0}},
		{"arraybuffer", "FF0F 42 03 000000", jsvalue.ArrayBuffer{0, 0, 0}},
		{"resizable", "FF0F 7E 02 08 0000", jsvalue.ResizableArrayBuffer{Data: []byte{0, 0}, MaxByteLength: 8}},
		{"native view", "FF0F 42 03 010203 56 42 00 03 00", jsvalue.Uint8Array{1, 2, 3}},
		{"native int16 view", "FF0F 42 04 01000200 56 77 00 04 00", []int16{1, 2}},
		{"buffer", "FF0F 5C 00 0A 02 6869", jsvalue.Buffer("hi")},
		{"uint8array", "FF0F 5C 00 01 03 010203", jsvalue.Uint8Array{1, 2, 3}},
		{"float64array", "FF0F 5C 00 08 08 000000000000F83F", []float64{1.5}},
		{"dataview", "FF0F 5C 00 09 02 0000", jsvalue.DataView{0, 0}},
		{"int32array truncated", "FF0F 5C 00 05 03 010203", []int32{}},
		{"buffer in object", "FF0F 6F 22016B 5C000A017A 7B01", obj("k", jsvalue.Buffer("z"))},
		{"blob", "FF0F 5C 01 6F 7B 00", obj()},
		{"keys out of order", "FF0F 6F 220162 4902 4904 4904 220161 4906 4902 4908 7B04", obj("1", 4.0, "2", 2.0, "b", 1.0, "a", 3.0)},
		{"regexp g", "FF0F 52 220161 01", jsvalue.RegExp{Source: "a", Flags: "g"}},
		{"regexp v", "FF0F 52 220161 8002", jsvalue.RegExp{Source: "a", Flags: "v"}},
		{"trailing bytes", "FF0F 220161 0000DEADBEEF", "a"},
		{"padding", "FF0F 00 00 220161", "a"},
		{"verify count", "FF0F 3F 05 220161", "a"},
		{"version 13", "FF0D 220161", "a"},
		{"version 14", "FF0E 220161", "a"},
		{"undefined", "FF0F 5F", jsvalue.Undefined{}},
		{"null", "FF0F 30", nil},
		{"true", "FF0F 54", true},
		{"false", "FF0F 46", false},
		{"date", "FF0F 44 0000000000000000", time.UnixMilli(0).UTC()},
		{"invalid date", "FF0F 44 000000000000F87F", jsvalue.InvalidDate{}},
		{"map", "FF0F 3B 4902 220161 3A 02", &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1.0, Value: "a"}}}},
		{"set", "FF0F 27 4902 2C 01", &jsvalue.Set{Values: []any{1.0}}},
		{"error", "FF0F 72 52 6D 220178 2E", &jsvalue.Error{Name: "RangeError", Message: "x"}},
		{"error null cause", "FF0F 72 63 30 2E", &jsvalue.Error{Name: "Error", HasCause: true}},
		{"boxed", "FF0F 41 02 79 6E 000000000000F83F 24 00 02", []any{jsvalue.Boxed{Value: true}, jsvalue.Boxed{Value: 1.5}}},
		{"number key", "FF0F 6F 4E 000000000000F83F 5F 7B 01", obj("1.5", jsvalue.Undefined{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustDecode(t, h(tt.in))
			if !sameV8(got, tt.want) {
				t.Errorf("Unmarshal(%s) = %#v; want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// TestV8DecodeReferences checks object identity: cycles and shared objects
// come back as shared Go values.
func TestV8DecodeReferences(t *testing.T) {
	// o = {}; o.self = o
	o := mustDecode(t, h("FF0F 6F 2204 73656C66 5E00 7B01")).(*jsvalue.Object)
	if self, _ := o.Get("self"); self != o {
		t.Errorf("o.self is not o: %v", self)
	}
	var om map[string]any
	if err := Unmarshal(h("FF0F 6F 2204 73656C66 5E00 7B01"), &om); err != nil || reflect.ValueOf(om["self"]).Pointer() != reflect.ValueOf(om).Pointer() {
		t.Errorf("o.self into a map[string]any is not o: %v", err)
	}
	// [x, x]
	a := mustDecode(t, h("FF0F 41 02 6F 7B00 5E01 24 00 02")).([]any)
	if reflect.ValueOf(a[0]).Pointer() != reflect.ValueOf(a[1]).Pointer() {
		t.Errorf("[x, x] decoded to two objects")
	}
	// [b, b, {}] with b a Buffer (IPC host object, tag 0)
	a = mustDecode(t, h("FF0F 41 03 5C000A017A 5E01 6F7B00 24 00 03")).([]any)
	b0, b1 := a[0].(jsvalue.Buffer), a[1].(jsvalue.Buffer)
	if &b0[0] != &b1[0] {
		t.Errorf("[b, b] decoded to two Buffers")
	}
	// a = []; a.push(a)
	a = mustDecode(t, h("FF0F 41 01 5E00 24 00 01")).([]any)
	if inner := a[0].([]any); &inner[0] != &a[0] {
		t.Errorf("a[0] is not a")
	}
	// Node 22+ can send an Error that is its own cause.
	e := mustDecode(t, h("FF0F 72 6D 220161 73 220173 63 5E00 2E")).(*jsvalue.Error)
	if e.Cause != e || e.Message != "a" || e.Stack != "s" {
		t.Errorf("self-caused error = %+v", e)
	}
	// A reference to the ArrayBuffer behind a native view.
	a = mustDecode(t, h("FF0F 41 02 42 02 0102 56 42 00 02 00 5E 01 24 00 02")).([]any)
	if v, ok := a[1].(jsvalue.ArrayBuffer); !ok || !bytes.Equal(v, []byte{1, 2}) {
		t.Errorf("ref to the ArrayBuffer = %#v", a[1])
	}
}

// TestV8DecodeErrors checks that bad input gives an *Error with an offset,
// and never panics.
func TestV8DecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		off  int
	}{
		{"empty", "", 0},
		{"no header", "22 01 61", 0},
		{"header only", "FF0F", 2},
		{"version 12", "FF0C 220161", 1},
		{"version 16", "FF10 220161", 1},
		{"truncated varint", "FF0F 49 FF", 4},
		{"long varint", "FF0F 49 FFFFFFFFFF01", 3},
		{"truncated double", "FF0F 4E 0000", 5},
		{"truncated string", "FF0F 22 05 6162", 4},
		{"odd two-byte", "FF0F 63 03 616263", 4},
		{"unknown tag", "FF0F 01", 2},
		{"transfer tag", "FF0F 74 00", 2},
		{"shared tag", "FF0F 70 00", 2},
		{"wasm tag", "FF0F 77 00", 2},
		{"hole outside array", "FF0F 2D", 2},
		{"ref alone", "FF0F 5E 00", 2},
		{"ref out of range", "FF0F 41 01 5E 05 24 00 01", 4},
		{"object count", "FF0F 6F 220161 5F 7B 02", 8},
		{"object unterminated", "FF0F 6F 220161 5F", 7},
		{"duplicate key", "FF0F 6F 220161 5F 220161 5F 7B 02", 7},
		{"duplicate number key", "FF0F 6F 4902 5F 220131 5F 7B 02", 6},
		{"bad key", "FF0F 6F 54 5F 7B 01", 3},
		{"dense too long", "FF0F 41 7F 49 02", 2},
		{"dense length mismatch", "FF0F 41 01 4902 24 00 02", 8},
		{"sparse count mismatch", "FF0F 61 02 4900 4902 40 02 02", 9},
		{"map odd count", "FF0F 3B 4902 4904 3A 01", 8},
		{"set count", "FF0F 27 4902 2C 02", 6},
		{"regexp linear", "FF0F 52 220161 40", 6},
		{"regexp 512", "FF0F 52 220161 8004", 6},
		{"regexp u and v", "FF0F 52 220161 9002", 6},
		{"regexp non-string", "FF0F 52 4902 01", 3},
		{"bigint too long", "FF0F 5A 20 0102", 4},
		{"arraybuffer too long", "FF0F 42 05 0102", 4},
		{"resizable over max", "FF0F 7E 04 02 00000000", 4},
		{"view outside buffer", "FF0F 42 02 0102 56 42 01 02 00", 6},
		{"view misaligned", "FF0F 42 04 01020304 56 64 00 02 00", 8},
		{"view bad flags", "FF0F 42 02 0102 56 42 00 02 01", 6},
		{"view bad type", "FF0F 42 02 0102 56 7A 00 02 00", 6},
		{"view alone", "FF0F 56 42 00 00 00", 2},
		{"host bad tag", "FF0F 5C 02", 2},
		{"host bad type", "FF0F 5C 00 0E 00", 4},
		{"host too long", "FF0F 5C 00 0A 05 01", 6},
		{"host primitive", "FF0F 5C 01 220161", 2},
		{"host self ref", "FF0F 5C 01 6F 2201 61 5E00 7B01", 8},
		{"array length prop", "FF0F 41 01 4902 22066C656E677468 4904 24 01 01", 6},
		{"sparse length prop", "FF0F 61 01 22066C656E677468 4904 40 01 01", 4},
		{"error bad subtag", "FF0F 72 7A", 3},
		{"error unterminated", "FF0F 72 6D 220161", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			err := Unmarshal(h(tt.in), &v)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Unmarshal(%s) = %v; want an *Error", tt.in, err)
			}
			if pe.Op != "unmarshal" || pe.Err != nil {
				t.Errorf("Unmarshal(%s) = %#v; want Op unmarshal and no Err", tt.in, pe)
			}
			if pe.Offset != tt.off {
				t.Errorf("Unmarshal(%s) offset = %d (%v); want %d", tt.in, pe.Offset, err, tt.off)
			}
		})
	}
}

// What the decoder accepts can be sent back: containers of every kind
// nested to v8MaxDepth decode and encode again, and one level more is
// refused both ways. Tags that hold nothing (padding, verify counts) and
// Node's object wrapper cannot take the nesting past the limit.
func TestV8DecodeDepth(t *testing.T) {
	levels := map[string]func(inner []byte) []byte{
		"dense":  func(in []byte) []byte { return append(append([]byte("A\x01"), in...), "$\x00\x01"...) },
		"sparse": func(in []byte) []byte { return append(append([]byte("a\x01I\x00"), in...), "@\x01\x01"...) },
		"object": func(in []byte) []byte { return append(append([]byte("o\"\x01a"), in...), "{\x01"...) },
		"map":    func(in []byte) []byte { return append(append([]byte(";\"\x01k"), in...), ":\x02"...) },
		"set":    func(in []byte) []byte { return append(append([]byte("'"), in...), ",\x01"...) },
		"error":  func(in []byte) []byte { return append(append([]byte("rc"), in...), '.') },
		"verify-counted": func(in []byte) []byte {
			return append(append([]byte("?\x01\x00\x00A\x01"), in...), "$\x00\x01"...)
		},
	}
	names := slices.Sorted(maps.Keys(levels))
	deep := func(n int, kinds ...string) []byte {
		b := []byte("0") // null
		for i := range n {
			b = levels[kinds[i%len(kinds)]](b)
		}
		return append([]byte{0xFF, 0x0F}, b...)
	}
	cases := [][]string{names}
	for _, k := range names {
		cases = append(cases, []string{k})
	}
	for _, kinds := range cases {
		t.Run(strings.Join(kinds, "+"), func(t *testing.T) {
			var v any
			if err := Unmarshal(deep(v8MaxDepth, kinds...), &v); err != nil {
				t.Fatalf("depth %d: %v", v8MaxDepth, err)
			}
			if _, err := Append(nil, v); err != nil {
				t.Fatalf("re-encoding depth %d: %v", v8MaxDepth, err)
			}
			if _, err := Append(nil, []any{v}); !isError(err) {
				t.Fatalf("encoding depth %d: %v; want ErrInvalidMessage (too deep for Node)", v8MaxDepth+1, err)
			}
			over := deep(v8MaxDepth+1, kinds...)
			if err := Unmarshal(over, &v); !isError(err) || !strings.Contains(err.Error(), "nesting") {
				t.Errorf("depth %d: %v; want a nesting error", v8MaxDepth+1, err)
			}
			var typed []any
			if err := Unmarshal(over, &typed); !isError(err) {
				t.Errorf("typed depth %d: %v; want a nesting error", v8MaxDepth+1, err)
			}
		})
	}
	// Node's wrapper around a plain object (5C 01) holds one: wrappers
	// around wrappers nest.
	wrapped := append(bytes.Repeat([]byte("\\\x01"), v8MaxDepth+1), "o{\x00"...)
	var v any
	if err := Unmarshal(append([]byte{0xFF, 0x0F}, wrapped...), &v); !isError(err) || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("%d wrappers: %v; want a nesting error", v8MaxDepth+1, err)
	}
}

// TestV8DecodeBoundedMemory checks that declared sizes are not trusted.
func TestV8DecodeBoundedMemory(t *testing.T) {
	// A sparse array of length 2^32-1 with one element: kept as an *Array.
	v := mustDecode(t, h("FF0F 61 FFFFFFFF0F 4900 4902 40 01 FFFFFFFF0F"))
	a, ok := v.(*jsvalue.Array)
	if !ok || a.Length != math.MaxUint32 || len(a.Elements) != 1 || a.Elements[0] != 1.0 {
		t.Errorf("huge sparse array = %#v", v)
	}
	// Into a slice it is an error, not a 64 GiB allocation.
	var s []int
	if err := Unmarshal(h("FF0F 61 FFFFFFFF0F 40 00 FFFFFFFF0F"), &s); !isError(err) {
		t.Errorf("huge sparse array into []int: %v", err)
	}
	// A dense array of big Go elements grows as elements arrive instead of
	// allocating length × element size up front.
	type big1k struct{ B [1024]byte }
	var bigs []big1k
	many := h("FF0F 41 D00F")
	for range 2000 {
		many = append(many, 0x6F, 0x7B, 0x00)
	}
	many = append(many, h("24 00 D00F")...)
	if err := Unmarshal(many, &bigs); err != nil || len(bigs) != 2000 {
		t.Errorf("2000 objects into []big1k = %d elements, %v", len(bigs), err)
	}
	truncated := many[:len(many)/2]
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Unmarshal(truncated, &bigs); !isError(err) {
		t.Errorf("truncated array into []big1k: %v; want an error", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("a truncated 2000-element claim allocated %d bytes", grew)
	}
	// Many medium sparse arrays share one expansion budget.
	b := []byte{0xFF, 0x0F, 0x41, 0x80, 0x01}
	for range 128 {
		b = append(b, 0x61, 0x80, 0x80, 0x04, 0x40, 0x00, 0x80, 0x80, 0x04)
	}
	b = append(b, 0x24, 0x00, 0x80, 0x01)
	all := mustDecode(t, b).([]any)
	expanded := 0
	for _, x := range all {
		if s, ok := x.([]any); ok {
			expanded += len(s)
		}
	}
	if expanded > 4096+4*len(b) {
		t.Errorf("expanded %d hole slots from %d bytes", expanded, len(b))
	}
}

// TestV8EncodeBytes checks the encoder against Node's own bytes.
func TestV8EncodeBytes(t *testing.T) {
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	x := map[string]any{}
	b := jsvalue.Buffer("z")
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"str", "str", "FF0F 22 03 737472"},
		{"latin1", "é", "FF0F 22 01 E9"},
		{"lone surrogate", "\xed\xa0\x80lone", "FF0F 63 0A 00D8 6C00 6F00 6E00 6500"},
		{"padding", []any{"a", "€"}, "FF0F 41 02 220161 00 6302AC20 24 00 02"},
		{"emoji", "😀", "FF0F 63 04 3DD8 00DE"},
		{"invalid utf8", "\xff", "FF0F 63 02 FDFF"},
		{"int32 max", math.MaxInt32, "FF0F 49 FEFFFFFF0F"},
		{"int -1", -1, "FF0F 49 01"},
		{"2^31", int64(1 << 31), "FF0F 4E 000000000000E041"},
		{"float integral", 3.0, "FF0F 49 06"},
		{"minus zero", math.Copysign(0, -1), "FF0F 4E 0000000000000080"},
		{"NaN", math.NaN(), "FF0F 4E 010000000000F87F"},
		{"uint8", uint8(200), "FF0F 49 9003"},
		{"bigint 123", big.NewInt(123), "FF0F 5A 10 7B00000000000000"},
		{"bigint -1", big.NewInt(-1), "FF0F 5A 11 0100000000000000"},
		{"bigint 0", big.NewInt(0), "FF0F 5A 00"},
		{"bigint 2^64", bigInt("18446744073709551616"), "FF0F 5A 20 0000000000000000 0100000000000000"},
		{"object int keys", map[string]any{"b": 1, "2": 2, "a": 3, "1": 4}, "FF0F 6F 4902 4908 4904 4904 220161 4906 220162 4902 7B04"},
		{"dense", []any{1, 2, 3}, "FF0F 41 03 4902 4904 4906 24 00 03"},
		{"holey", []any{1, jsvalue.Hole{}, 3}, "FF0F 61 03 4900 4902 4904 4906 40 02 03"},
		{"ints", []int{1, 2}, "FF0F 41 02 4902 4904 24 00 02"},
		{"arraybuffer", jsvalue.ArrayBuffer{0, 0, 0}, "FF0F 42 03 000000"},
		{"resizable", jsvalue.ResizableArrayBuffer{Data: []byte{0, 0}, MaxByteLength: 8}, "FF0F 7E 02 08 0000"},
		{"buffer", jsvalue.Buffer("hi"), "FF0F 5C 00 0A 02 6869"},
		{"bytes", []byte("hi"), "FF0F 5C 00 0A 02 6869"},
		{"uint8array", jsvalue.Uint8Array{1, 2, 3}, "FF0F 5C 00 01 03 010203"},
		{"float64array", []float64{1.5}, "FF0F 5C 00 08 08 000000000000F83F"},
		{"dataview", jsvalue.DataView{0, 0}, "FF0F 5C 00 09 02 0000"},
		{"int16array", []int16{-2}, "FF0F 5C 00 03 02 FEFF"},
		{"biguint64array", []uint64{1}, "FF0F 5C 00 0C 08 0100000000000000"},
		{"buffer in object", map[string]any{"k": jsvalue.Buffer("z")}, "FF0F 6F 22016B 5C000A017A 7B01"},
		{"self", selfMap, "FF0F 6F 2204 73656C66 5E00 7B01"},
		{"shared", []any{x, x}, "FF0F 41 02 6F 7B00 5E01 24 00 02"},
		{"shared buffer", []any{b, b, map[string]any{}}, "FF0F 41 03 5C000A017A 5E01 6F7B00 24 00 03"},
		{"regexp", jsvalue.RegExp{Source: "a", Flags: "g"}, "FF0F 52 220161 01"},
		{"regexp v", jsvalue.RegExp{Source: "a", Flags: "v"}, "FF0F 52 220161 8002"},
		{"date", time.UnixMilli(1).UTC(), "FF0F 44 000000000000F03F"},
		{"invalid date", jsvalue.InvalidDate{}, "FF0F 44 000000000000F87F"},
		{"undefined", jsvalue.Undefined{}, "FF0F 5F"},
		{"nil", nil, "FF0F 30"},
		{"nil map", map[string]int(nil), "FF0F 30"},
		{"map", &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1, Value: "a"}}}, "FF0F 3B 4902 220161 3A 02"},
		{"set", &jsvalue.Set{Values: []any{1}}, "FF0F 27 4902 2C 01"},
		{"error", &jsvalue.Error{Name: "RangeError", Message: "x"}, "FF0F 72 52 6D 220178 2E"},
		{"error cause", &jsvalue.Error{Name: "Error", Cause: jsvalue.Undefined{}, Stack: "s"}, "FF0F 72 73 220173 63 5F 2E"},
		{"error null cause", &jsvalue.Error{HasCause: true}, "FF0F 72 63 30 2E"},
		{"boxed", []any{jsvalue.Boxed{Value: true}, jsvalue.Boxed{Value: 1.5}, jsvalue.Boxed{Value: "s"}, jsvalue.Boxed{Value: big.NewInt(1)}}, "FF0F 41 04 79 6E 000000000000F83F 73220173 7A100100000000000000 24 00 04"},
		{"array props", &jsvalue.Array{Length: 2, Elements: map[uint32]any{0: 1, 1: 2}, Props: obj("x", "y")}, "FF0F 41 02 4902 4904 220178 220179 24 01 02"},
		{"object in order", obj("b", 1, "2", 2, "a", 3, "1", 4), "FF0F 6F 4902 4908 4904 4904 220162 4902 220161 4906 7B04"},
		{"self object", func() any { o := obj(); o.Set("self", o); return o }(), "FF0F 6F 2204 73656C66 5E00 7B01"},
		{"array sparse", &jsvalue.Array{Length: 1000001, Elements: map[uint32]any{1000000: 1}}, "FF0F 61 C1843D 4980897A 4902 40 01 C1843D"},
		{"uint64 2^63", uint64(1 << 63), "FF0F 4E 000000000000E043"},
		{"int64 -2^53", int64(-1 << 53), "FF0F 4E 00000000000040C3"},
		{"named int32 slice", []v8Int32{-1}, "FF0F 5C 00 05 04 FFFFFFFF"},
		{"named uint16 slice", []v8Uint16{2}, "FF0F 5C 00 04 02 0200"},
		{"named float32 slice", []v8Float32{1.5}, "FF0F 5C 00 07 04 0000C03F"},
		{"named byte slice", v8Bytes{7}, "FF0F 5C 00 0A 01 07"},
		{"pointer to int", &[]int{5}[0], "FF0F 49 0A"},
		{"pointer to time", &[]time.Time{time.UnixMilli(1)}[0], "FF0F 44 000000000000F03F"},
		{"go array", [2]bool{true, false}, "FF0F 41 02 54 46 24 00 02"},
		{"int keys", map[int]string{10: "a", 2: "b"}, "FF0F 6F 4904 220162 4914 220161 7B02"},
		{"named string", v8Str("s"), "FF0F 22 01 73"},
		{"boxed int", jsvalue.Boxed{Value: 3}, "FF0F 6E 0000000000000840"},
		{"big.Int value", *big.NewInt(1), "FF0F 5A 10 0100000000000000"},
		{"shared struct pointer", func() any { p := &v8Inner{Z: 1}; return []any{p, p} }(), "FF0F 41 02 6F 22017A 4902 7B01 5E01 24 00 02"},
		{"index-like field name", struct {
			A int `json:"7"`
		}{1}, "FF0F 6F 490E 4902 7B01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Append(nil, tt.in)
			if err != nil {
				t.Fatalf("Append(%#v) = %v", tt.in, err)
			}
			if want := h(tt.want); !bytes.Equal(got, want) {
				t.Errorf("Append(%#v) =\n% x\nwant\n% x", tt.in, got, want)
			}
		})
	}
}

// TestV8EncodeAppends checks that Append appends, and that the padding
// parity counts from the header, not from the start of dst.
func TestV8EncodeAppends(t *testing.T) {
	got, err := Append([]byte{0, 0, 0, 0, 1}, "€")
	if err != nil {
		t.Fatal(err)
	}
	if want := h("0000000001 FF0F 6302AC20"); !bytes.Equal(got, want) {
		t.Errorf("Append = % x; want % x", got, want)
	}
	dst := []byte{9}
	if out, err := Append(dst, func() {}); err == nil || !bytes.Equal(out, dst) {
		t.Errorf("Append of a func = % x, %v; want dst unchanged and an error", out, err)
	}
}

func TestV8EncodeErrors(t *testing.T) {
	e := &jsvalue.Error{Message: "loop"}
	e.Cause = e
	tests := []struct {
		name string
		in   any
	}{
		{"func", func() {}},
		{"chan", make(chan int)},
		{"complex", 1i},
		{"nested func", map[string]any{"f": func() {}}},
		{"int64 beyond 2^53", int64(1<<53 + 1)},
		{"uint64 beyond 2^53", uint64(1<<63 + 1)},
		{"hole alone", jsvalue.Hole{}},
		{"float16", jsvalue.Float16Array{1}},
		{"regexp linear flag", jsvalue.RegExp{Source: "a", Flags: "l"}},
		{"regexp duplicate flag", jsvalue.RegExp{Source: "a", Flags: "gg"}},
		{"regexp u and v", jsvalue.RegExp{Source: "a", Flags: "uv"}},
		{"error cause cycle", e},
		{"boxed nil", jsvalue.Boxed{}},
		{"boxed map", jsvalue.Boxed{Value: map[string]any{}}},
		{"struct key map", map[struct{}]int{{}: 1}},
		{"array index prop", &jsvalue.Array{Length: 1, Props: obj("0", 1)}},
		{"array element beyond length", &jsvalue.Array{Length: 1, Elements: map[uint32]any{3: 1}}},
		{"array length prop", &jsvalue.Array{Length: 1, Props: obj("length", 1)}},
		{"resizable over max", jsvalue.ResizableArrayBuffer{Data: []byte{1, 2}, MaxByteLength: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Append(nil, tt.in); !isError(err) {
				t.Errorf("Append(%T) = %v; want ErrInvalidMessage", tt.in, err)
			}
		})
	}
	deep := []any{nil}
	cur := deep
	for range v8MaxEncodeDepth {
		next := []any{nil}
		cur[0] = next
		cur = next
	}
	if _, err := Append(nil, deep); !isError(err) {
		t.Errorf("Append(deep) = %v; want ErrInvalidMessage", err)
	}
}

// TestV8EncodeCycles checks that Go cycles and shared values become
// references, and decode back to shared values.
func TestV8EncodeCycles(t *testing.T) {
	type node struct {
		Name string `json:"name"`
		Next *node  `json:"next,omitempty"`
	}
	n := &node{Name: "a"}
	n.Next = n
	b, err := Append(nil, n)
	if err != nil {
		t.Fatal(err)
	}
	if want := h("FF0F 6F 22046E616D65 220161 22046E657874 5E00 7B02"); !bytes.Equal(b, want) {
		t.Errorf("Append(cycle) = % x; want % x", b, want)
	}
	var back *node
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Next != back || back.Name != "a" {
		t.Errorf("decoded cycle = %+v; want a node pointing to itself", back)
	}
	var generic any
	if err := Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	m := generic.(*jsvalue.Object)
	if next, _ := m.Get("next"); next != m {
		t.Errorf("decoded cycle into any is not shared")
	}

	s := []any{nil, "x"}
	s[0] = s
	b, err = Append(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	if want := h("FF0F 41 02 5E00 220178 24 00 02"); !bytes.Equal(b, want) {
		t.Errorf("Append(self slice) = % x; want % x", b, want)
	}
	mp := &jsvalue.Map{}
	mp.Set("me", mp)
	b, err = Append(nil, mp)
	if err != nil {
		t.Fatal(err)
	}
	if want := h("FF0F 3B 22026D65 5E00 3A 02"); !bytes.Equal(b, want) {
		t.Errorf("Append(self Map) = % x; want % x", b, want)
	}
}

type (
	v8Int32   int32
	v8Uint16  uint16
	v8Float32 float32
	v8Bytes   []byte
	v8Str     string
)

type v8Inner struct {
	Z int `json:"z"`
}

type v8Embedded struct {
	E string `json:"e"`
}

type v8Msg struct {
	ID      int               `json:"id"`
	Op      string            `json:"op"`
	Payload string            `json:"payload,omitempty"`
	Skip    string            `json:"-"`
	Ratio   float64           `json:"ratio"`
	Tags    []string          `json:"tags"`
	Attrs   map[string]int    `json:"attrs"`
	Inner   *v8Inner          `json:"inner"`
	When    time.Time         `json:"when"`
	Big     *big.Int          `json:"big"`
	Raw     []byte            `json:"raw"`
	Any     any               `json:"any"`
	ByIndex map[int]string    `json:"byIndex"`
	JSMap   map[string]string `json:"jsMap"`
	v8Embedded
	private int
}

// TestV8Typed round-trips a struct with json tags through the codec.
func TestV8Typed(t *testing.T) {
	in := v8Msg{
		ID: 7, Op: "echo", Skip: "no", Ratio: 0.5, Tags: []string{"a", "b"},
		Attrs: map[string]int{"x": 1}, Inner: &v8Inner{Z: -3},
		When: time.UnixMilli(1700000000123).UTC(), Big: bigInt("123456789012345678901234567890"),
		Raw: []byte{1, 2}, Any: map[string]any{"k": []any{1.0, "v"}},
		ByIndex: map[int]string{3: "c"}, v8Embedded: v8Embedded{E: "emb"}, private: 9,
	}
	b, err := Append(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var out v8Msg
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	want := in
	want.Skip, want.private = "", 0
	want.Any = obj("k", []any{1.0, "v"}) // an any gets an *Object
	if !reflect.DeepEqual(out, want) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", out, want)
	}
	var generic map[string]any
	if err := Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	if _, ok := generic["payload"]; ok {
		t.Errorf("omitempty field was sent: %v", generic)
	}
	if generic["e"] != "emb" || generic["id"] != 7.0 || generic["byIndex"].(map[string]any)["3"] != "c" {
		t.Errorf("generic view = %v", generic)
	}
	if _, ok := generic["Skip"]; ok {
		t.Errorf(`json:"-" field was sent: %v`, generic)
	}
}

// TestV8EncodeReflectPaths checks values reached through reflection:
// []any fields keep their holes, and nil embedded pointers are skipped
// without being allocated.
func TestV8EncodeReflectPaths(t *testing.T) {
	type withSlice struct {
		Items []any          `json:"items"`
		M     map[string]any `json:"m"`
	}
	b, err := Append(nil, &withSlice{Items: []any{1, jsvalue.Hole{}}, M: map[string]any{"k": true}})
	if err != nil {
		t.Fatal(err)
	}
	want := h("FF0F 6F 22056974656D73 61 02 4900 4902 40 01 02 22016D 6F 22016B 54 7B01 7B02")
	if !bytes.Equal(b, want) {
		t.Errorf("Append = % x; want % x", b, want)
	}
	type Emb struct {
		E string `json:"e"`
	}
	type outer struct {
		*Emb
		N int `json:"n"`
	}
	o := &outer{N: 1}
	if b, err = Append(nil, o); err != nil {
		t.Fatal(err)
	}
	if o.Emb != nil {
		t.Error("encoding allocated a nil embedded pointer")
	}
	if want := h("FF0F 6F 22016E 4902 7B01"); !bytes.Equal(b, want) {
		t.Errorf("Append = % x; want % x", b, want)
	}
	var back outer
	if err := Unmarshal(h("FF0F 6F 220165 220178 7B01"), &back); err != nil || back.Emb == nil || back.E != "x" {
		t.Errorf("decoding into a nil embedded pointer = %+v, %v", back, err)
	}
}

func TestV8TypedConversions(t *testing.T) {
	enc := func(v any) []byte {
		b, err := Append(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var i8 int8
	if err := Unmarshal(enc(127), &i8); err != nil || i8 != 127 {
		t.Errorf("127 into int8 = %d, %v", i8, err)
	}
	if err := Unmarshal(enc(128), &i8); !isError(err) {
		t.Errorf("128 into int8: %v; want an error", err)
	}
	var u uint
	if err := Unmarshal(enc(-1), &u); !isError(err) {
		t.Errorf("-1 into uint: %v; want an error", err)
	}
	var i int
	if err := Unmarshal(enc(1.5), &i); !isError(err) {
		t.Errorf("1.5 into int: %v; want an error", err)
	}
	if err := Unmarshal(enc(big.NewInt(1<<30)), &i); err != nil || i != 1<<30 {
		t.Errorf("BigInt into int = %d, %v", i, err)
	}
	var i64 int64
	if err := Unmarshal(enc(float64(1<<60)), &i64); err != nil || i64 != 1<<60 {
		t.Errorf("2^60 into int64 = %d, %v", i64, err)
	}
	var s string
	if err := Unmarshal(enc(1), &s); !isError(err) {
		t.Errorf("number into string: %v; want an error", err)
	}
	var p *int
	if err := Unmarshal(enc(nil), &p); err != nil || p != nil {
		t.Errorf("null into *int = %v, %v", p, err)
	}
	var tm time.Time
	if err := Unmarshal(enc(time.UnixMilli(5)), &tm); err != nil || tm.UnixMilli() != 5 {
		t.Errorf("Date into time.Time = %v, %v", tm, err)
	}
	if err := Unmarshal(enc(jsvalue.InvalidDate{}), &tm); !isError(err) {
		t.Errorf("invalid Date into time.Time: %v; want an error", err)
	}
	var bi big.Int
	if err := Unmarshal(enc(big.NewInt(-5)), &bi); err != nil || bi.Int64() != -5 {
		t.Errorf("BigInt into big.Int = %v, %v", &bi, err)
	}
	var buf jsvalue.Buffer
	if err := Unmarshal(enc(jsvalue.Uint8Array{1}), &buf); err != nil || !bytes.Equal(buf, []byte{1}) {
		t.Errorf("Uint8Array into Buffer = %v, %v", buf, err)
	}
	var f64 []float64
	if err := Unmarshal(enc([]float64{1, 2}), &f64); err != nil || len(f64) != 2 {
		t.Errorf("Float64Array into []float64 = %v, %v", f64, err)
	}
	if err := Unmarshal(enc([]any{1, 2, 3}), &f64); err != nil || len(f64) != 3 || f64[2] != 3 {
		t.Errorf("array into []float64 = %v, %v", f64, err)
	}
	var arr [2]string
	if err := Unmarshal(enc([]any{"a", "b", "c"}), &arr); err != nil || arr != [2]string{"a", "b"} {
		t.Errorf("array into [2]string = %v, %v", arr, err)
	}
	var set []string
	if err := Unmarshal(enc(&jsvalue.Set{Values: []any{"x"}}), &set); err != nil || len(set) != 1 || set[0] != "x" {
		t.Errorf("Set into []string = %v, %v", set, err)
	}
	var jm map[string]int
	if err := Unmarshal(enc(&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: "a", Value: 1}}}), &jm); err != nil || jm["a"] != 1 {
		t.Errorf("Map into map[string]int = %v, %v", jm, err)
	}
	var m *jsvalue.Map
	if err := Unmarshal(enc(&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1, Value: 2}}}), &m); err != nil || m.Len() != 1 {
		t.Errorf("Map into *Map = %v, %v", m, err)
	}
	var je error
	if err := Unmarshal(enc(&jsvalue.Error{Name: "TypeError", Message: "m"}), &je); err != nil || je.Error() != "TypeError: m" {
		t.Errorf("Error into error = %v, %v", je, err)
	}
	var holes []int
	if err := Unmarshal(enc([]any{1, jsvalue.Hole{}, 3}), &holes); err != nil || !reflect.DeepEqual(holes, []int{1, 0, 3}) {
		t.Errorf("holey array into []int = %v, %v", holes, err)
	}
	type caseFold struct{ UserName string }
	var cf caseFold
	if err := Unmarshal(enc(map[string]any{"username": "u", "other": []any{1}}), &cf); err != nil || cf.UserName != "u" {
		t.Errorf("case-insensitive field = %+v, %v", cf, err)
	}
	var u8 uint8
	if err := Unmarshal(h("FF0F 4E 0000000000006040"), &u8); err != nil || u8 != 128 {
		t.Errorf("N 128 into uint8 = %d, %v", u8, err)
	}
	var f32 float32
	if err := Unmarshal(enc(1e300), &f32); !isError(err) {
		t.Errorf("1e300 into float32: %v; want an error", err)
	}
	var u64 uint64
	if err := Unmarshal(enc(bigInt("18446744073709551616")), &u64); !isError(err) {
		t.Errorf("2^64n into uint64: %v; want an error", err)
	}
	if err := Unmarshal(enc(big.NewInt(-1)), &f32); !isError(err) {
		t.Errorf("BigInt into float32: %v; want an error", err)
	}
	var intKeys map[int]bool
	if err := Unmarshal(enc(map[string]any{"x": true}), &intKeys); !isError(err) {
		t.Errorf(`{"x"} into map[int]bool: %v; want an error`, err)
	}
	if err := Unmarshal(enc(map[string]any{"12": true}), &intKeys); err != nil || !intKeys[12] {
		t.Errorf(`{"12"} into map[int]bool = %v, %v`, intKeys, err)
	}
	var b2 bool
	if err := Unmarshal(enc("x"), &b2); !isError(err) {
		t.Errorf("string into bool: %v; want an error", err)
	}
	var st struct{ A int }
	if err := Unmarshal(enc([]any{1}), &st); !isError(err) {
		t.Errorf("array into struct: %v; want an error", err)
	}
	var notPtr int
	if err := Unmarshal(enc(1), notPtr); err == nil {
		t.Error("Unmarshal into a non-pointer succeeded")
	}
	// A shared object decoded into two different Go types.
	type pair struct {
		A map[string]any `json:"a"`
		B struct {
			N int `json:"n"`
		} `json:"b"`
	}
	var pr pair
	if err := Unmarshal(h("FF0F 6F 220161 6F 22016E 4902 7B01 220162 5E01 7B02"), &pr); err != nil || pr.B.N != 1 || pr.A["n"] != 1.0 {
		t.Errorf("shared object into two types = %+v, %v", pr, err)
	}
	// A cycle into a struct value (not a pointer) cannot be represented.
	type loop struct {
		Self struct {
			Self map[string]int `json:"self"`
		} `json:"self"`
	}
	var lp loop
	if err := Unmarshal(h("FF0F 6F 2204 73656C66 5E00 7B01"), &lp); !isError(err) {
		t.Errorf("cycle into struct values: %v; want an error", err)
	}
}

// TestAppendStringProperty finds a string property of the top-level
// object on raw payloads, as Node's channel looks for "cmd".
func TestAppendStringProperty(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
		ok   bool
	}{
		{"ack", map[string]any{"cmd": "NODE_HANDLE_ACK"}, "NODE_HANDLE_ACK", true},
		{"empty", map[string]any{"cmd": ""}, "", true},
		{"later key", map[string]any{"a": []any{1, map[string]any{"cmd": "NODE_NOT"}}, "cmd": "NODE_X", "z": 1}, "NODE_X", true},
		{"number", map[string]any{"cmd": 1}, "", false},
		{"no such key", map[string]any{"id": 1, "op": "echo", "payload": "x"}, "", false},
		{"nested only", map[string]any{"a": map[string]any{"cmd": "x"}}, "", false},
		{"string", "cmd", "", false},
		{"array elements", []any{"cmd", "NODE_X"}, "", false},
		{"array with prop", &jsvalue.Array{Length: 1, Elements: map[uint32]any{0: 1}, Props: obj("cmd", "NODE_Y")}, "NODE_Y", true},
		{"latin1", map[string]any{"cmd": "café"}, "café", true},
		{"two-byte", map[string]any{"cmd": "NODE_€"}, "NODE_€", true},
		{"nested values", map[string]any{"a": &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1, Value: &jsvalue.Set{Values: []any{jsvalue.Buffer("x"), jsvalue.RegExp{Source: "a", Flags: "g"}, &jsvalue.Error{Message: "m", Cause: 1}}}}}}, "b": []any{jsvalue.Hole{}, big.NewInt(5), time.Now(), jsvalue.Boxed{Value: "s"}, jsvalue.ArrayBuffer{1}}, "cmd": "NODE_Z"}, "NODE_Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := AppendStringProperty([]byte("prefix:"), b, "cmd")
			if string(got) != "prefix:"+tt.want || ok != tt.ok {
				t.Errorf("AppendStringProperty(% x) = %q, %v; want %q, %v", b, got, ok, "prefix:"+tt.want, tt.ok)
			}
		})
	}
	keyed, err := Marshal(map[string]any{"é€": "v", "ü": "w"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"é€": "v", "ü": "w", "u": ""} {
		if got, ok := AppendStringProperty(nil, keyed, key); string(got) != want || ok != (want != "") {
			t.Errorf("AppendStringProperty(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, bad := range []string{"", "FF", "FF0F", "FF0F 6F", "FF0F 6F 2203 636D64", "FF0F 6F 2203 636D64 5E", "FF0F 6F 63 02 7A"} {
		if got, ok := AppendStringProperty(nil, h(bad), "cmd"); ok {
			t.Errorf("AppendStringProperty(%s) = %q, true; want false", bad, got)
		}
	}
	// Node's host-object wrapper around a plain object.
	if got, ok := AppendStringProperty(nil, h("FF0F 5C 01 6F 2203 636D64 2206 4E4F44455F41 7B01"), "cmd"); !ok || string(got) != "NODE_A" {
		t.Errorf("AppendStringProperty(host object) = %q, %v; want NODE_A", got, ok)
	}
}

func TestAppendStringPropertyAllocs(t *testing.T) {
	without, err := Marshal(map[string]any{"id": 1, "op": "echo", "payload": strings.Repeat("x", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	with, err := Marshal(map[string]any{"cmd": "echo", "payload": strings.Repeat("x", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	var buf [16]byte
	for _, b := range [][]byte{without, with} {
		if n := testing.AllocsPerRun(100, func() { AppendStringProperty(buf[:0], b, "cmd") }); n != 0 {
			t.Errorf("AppendStringProperty allocates %v times", n)
		}
	}
}

// isError reports whether err is an *Error.
func isError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// v8Fixtures loads the payloads captured from real Node by
// interop/testdata/v8-capture.js.
func v8Fixtures(t testing.TB) map[string]map[string][]byte {
	files, err := filepath.Glob("testdata/node*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string]map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Node   string            `json:"node"`
			Values map[string]string `json:"values"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m := map[string][]byte{}
		for name, hx := range doc.Values {
			m[name] = h(hx)
		}
		out[doc.Node] = m
	}
	return out
}

// fixtureWant is what each captured value must decode to (written by hand
// from the JavaScript in interop/testdata/v8-capture.js). Values that are
// checked by a function are listed in fixtureCheck instead.
var fixtureWant = map[string]any{
	"str_ascii":             "str",
	"str_empty":             "",
	"str_latin1":            "é",
	"str_two_byte":          "héllo €",
	"str_emoji":             "😀",
	"str_lone_surrogate":    "\xed\xa0\x80lone",
	"str_lone_low":          "a\xed\xb0\x80",
	"str_pad_array":         []any{"€", "a€", obj("k", "€")},
	"str_pad_odd":           []any{"a", "€", obj("ab", "ü€")},
	"str_long":              strings.Repeat("x", 300),
	"int_small":             42.0,
	"int_neg":               -7.0,
	"int_max":               float64(math.MaxInt32),
	"int_min":               float64(math.MinInt32),
	"num_2p31":              float64(1 << 31),
	"num_frac":              1.5,
	"num_neg_zero":          math.Copysign(0, -1),
	"num_nan":               math.NaN(),
	"num_inf":               math.Inf(1),
	"num_ninf":              math.Inf(-1),
	"num_1e21":              1e21,
	"bool_true":             true,
	"bool_false":            false,
	"null":                  nil,
	"undefined":             jsvalue.Undefined{},
	"bigints":               []any{big.NewInt(123), big.NewInt(-1), big.NewInt(0), bigInt("18446744073709551616"), bigInt("-1267650600228229401496703205376")},
	"object_ping":           obj("id", 1.0, "op", "echo", "payload", "x"),
	"object_int_keys":       obj("1", 4.0, "2", 2.0, "b", 1.0, "a", 3.0),
	"object_big_keys":       obj("2147483648", 3.0, "4294967294", 1.0, "4294967295", 2.0),
	"object_empty":          obj(),
	"object_nested":         obj("a", obj("b", obj("c", []any{1.0, "two", obj("d", nil)})), "e", jsvalue.Undefined{}),
	"array_dense":           []any{1.0, 2.0, 3.0},
	"array_empty":           []any{},
	"array_holey":           []any{1.0, jsvalue.Hole{}, 3.0},
	"array_new3":            []any{jsvalue.Hole{}, jsvalue.Hole{}, jsvalue.Hole{}},
	"array_sparse":          &jsvalue.Array{Length: 1000001, Elements: map[uint32]any{1000000: 1.0}},
	"array_props":           &jsvalue.Array{Length: 2, Elements: map[uint32]any{0: 1.0, 1: 2.0}, Props: obj("x", "y")},
	"date_epoch":            time.UnixMilli(0).UTC(),
	"date_ms":               time.UnixMilli(1700000000123).UTC(),
	"date_invalid":          jsvalue.InvalidDate{},
	"regexp_g":              jsvalue.RegExp{Source: "a", Flags: "g"},
	"regexp_all":            jsvalue.RegExp{Source: "x+y", Flags: "dgimsy"},
	"regexp_u":              jsvalue.RegExp{Source: `\u{1F600}`, Flags: "u"},
	"regexp_v":              jsvalue.RegExp{Source: "[a--b]", Flags: "v"},
	"map":                   &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1.0, Value: "a"}, {Key: "k", Value: obj()}, {Key: obj("x", 1.0), Value: []any{1.0}}}},
	"set":                   &jsvalue.Set{Values: []any{1.0, "a", obj()}},
	"arraybuffer":           jsvalue.ArrayBuffer{1, 2, 3},
	"arraybuffer_resizable": jsvalue.ResizableArrayBuffer{Data: []byte{7, 9}, MaxByteLength: 8},
	"buffer":                jsvalue.Buffer("hi"),
	"buffer_subarray":       jsvalue.Buffer("world"),
	"uint8array":            jsvalue.Uint8Array{1, 2, 3},
	"uint8clamped":          jsvalue.Uint8ClampedArray{0, 255},
	"int8array":             []int8{-1, 2},
	"int16array":            []int16{-2, 300},
	"uint16array":           []uint16{65535, 1},
	"int32array":            []int32{-1, math.MaxInt32},
	"uint32array":           []uint32{math.MaxUint32},
	"float32array":          []float32{1.5, -2},
	"float64array":          []float64{1.5, math.Copysign(0, -1)},
	"bigint64array":         []int64{-1, 5},
	"biguint64array":        []uint64{math.MaxUint64},
	"dataview":              jsvalue.DataView{4, 5},
	"float16array":          jsvalue.Float16Array{0x3E00, 0xC000},
	"boxed":                 []any{jsvalue.Boxed{Value: true}, jsvalue.Boxed{Value: false}, jsvalue.Boxed{Value: 1.5}, jsvalue.Boxed{Value: "s"}, jsvalue.Boxed{Value: big.NewInt(7)}},
	"host_blob":             obj(),
	"internal_ack":          obj("cmd", "NODE_HANDLE_ACK"),
	"proto_key":             obj("__proto__", 1.0, "a", 2.0),
	"views_one_buffer":      []any{jsvalue.Uint8Array{1, 2, 3, 4}, []uint16{5, 6}},
	"sparse_props":          &jsvalue.Array{Length: 6, Elements: map[uint32]any{5: 1.0}, Props: obj("k", "v")},
	"map_neg_zero":          &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 0.0, Value: math.Copysign(0, -1)}}},
	"str_two_byte_long":     strings.Repeat("€", 1000),
	"odd_keys":              obj("-1", 1.0, "1.5", 2.0, "", 3.0, "01", 4.0),
	"date_max":              time.UnixMilli(8.64e15).UTC(),
	"internal_prefix_only":  obj("cmd", "NODE_"),
	"internal_later_key":    obj("id", 1.0, "cmd", "NODE_X"),
}

// fixtureCheck checks the values whose identity or stack matters.
var fixtureCheck = map[string]func(v any) error{
	"error":            errorCheck("Error", "boom", noCause{}),
	"error_no_message": errorCheck("Error", "", noCause{}),
	"error_range":      errorCheck("RangeError", "out of range", noCause{}),
	"error_type":       errorCheck("TypeError", "bad type", noCause{}),
	"error_cause":      errorCheck("Error", "outer", obj("code", 42.0)),
	"error_null_cause": errorCheck("Error", "n", nil),
	"error_custom":     errorCheck("Error", "mine", noCause{}),
	"error_in_object": func(v any) error {
		m := v.(*jsvalue.Object)
		e, _ := m.Get("e")
		if err := errorCheck("TypeError", "t", noCause{})(e); err != nil || !sameV8(m, obj("e", e, "m", "x")) {
			return fmt.Errorf("got %v (%v)", m, err)
		}
		return nil
	},
	"nested_shared": func(v any) error {
		a := v.([]any)
		o := a[1].(*jsvalue.Object)
		m := a[0].(*jsvalue.Map)
		set := m.Entries[0].Value.(*jsvalue.Set)
		if len(a) != 2 || !sameV8(o, obj("v", 1.0)) || m.Len() != 1 || m.Entries[0].Key != o || !set.Has(o) {
			return fmt.Errorf("[Map{o => Set{o}}, o] = %#v", a)
		}
		return nil
	},
	"circular_object": func(v any) error {
		m := v.(*jsvalue.Object)
		if self, _ := m.Get("self"); self != m {
			return fmt.Errorf("self is not the object")
		}
		return nil
	},
	"circular_array": func(v any) error {
		a := v.([]any)
		if inner := a[0].([]any); len(a) != 1 || &inner[0] != &a[0] {
			return fmt.Errorf("a[0] is not a")
		}
		return nil
	},
	"shared_object": func(v any) error {
		a := v.([]any)
		if a[0] != a[1] || !sameV8(a[0], obj("n", 1.0)) {
			return fmt.Errorf("[x, x] = %v", a)
		}
		return nil
	},
	"shared_buffer": func(v any) error {
		a := v.([]any)
		b0, b1 := a[0].(jsvalue.Buffer), a[1].(jsvalue.Buffer)
		if string(b0) != "z" || &b0[0] != &b1[0] {
			return fmt.Errorf("[b, b, {}] = %v", a)
		}
		return nil
	},
	"circular_map": func(v any) error {
		m := v.(*jsvalue.Map)
		if me, ok := m.Get("me"); !ok || me != m {
			return fmt.Errorf("m.get('me') is not m")
		}
		return nil
	},
	"circular_set": func(v any) error {
		s := v.(*jsvalue.Set)
		if !s.Has(s) || s.Len() != 1 {
			return fmt.Errorf("s does not hold itself")
		}
		return nil
	},
}

// noCause stands for "no cause property" in errorCheck.
type noCause struct{}

func errorCheck(name, msg string, cause any) func(v any) error {
	return func(v any) error {
		e, ok := v.(*jsvalue.Error)
		if !ok {
			return fmt.Errorf("got %T, want *jsvalue.Error", v)
		}
		prefix := name
		if msg != "" {
			prefix += ": " + msg
		}
		want := cause
		_, absent := cause.(noCause)
		if absent {
			want = nil
		}
		if e.Name != name || e.Message != msg || !strings.HasPrefix(e.Stack, prefix+"\n    at ") || !sameV8(e.Cause, want) || e.HasCause == absent {
			return fmt.Errorf("got %+v, want %s: %q caused by %v", e, name, msg, cause)
		}
		return nil
	}
}

// fixtureNotIdentical lists fixtures the encoder does not reproduce byte
// for byte, and why.
var fixtureNotIdentical = map[string]string{
	"host_blob":    "a tag-1 host object decodes to the plain object Node would give, and is sent as one",
	"float16array": "never sent",
}

// TestV8Fixtures decodes every payload captured from Node 20, 22, 24 and 26,
// checks the value, and checks that re-encoding gives Node's bytes (or, for
// the listed exceptions, a payload that decodes to the same value).
func TestV8Fixtures(t *testing.T) {
	for version, values := range v8Fixtures(t) {
		for name, payload := range values {
			t.Run(version+"/"+name, func(t *testing.T) {
				v := mustDecode(t, payload)
				if check, ok := fixtureCheck[name]; ok {
					if err := check(v); err != nil {
						t.Fatal(err)
					}
				} else if want, ok := fixtureWant[name]; !ok {
					t.Fatalf("no expected value for fixture %s", name)
				} else if !sameV8(v, want) {
					t.Fatalf("decoded %#v; want %#v", v, want)
				}
				b, err := Append(nil, v)
				if name == "float16array" {
					if !isError(err) {
						t.Fatalf("re-encoding a Float16Array: %v; want ErrInvalidMessage", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("re-encoding: %v", err)
				}
				_, different := fixtureNotIdentical[name]
				// V8 11 (Node 20) writes an Error's cause before its stack.
				different = different || (name == "error_cause" || name == "error_null_cause") && strings.HasPrefix(version, "v20.")
				if !different && !bytes.Equal(b, payload) {
					t.Errorf("re-encoded\n% x\nNode wrote\n% x", b, payload)
				}
				if again := mustDecode(t, b); !sameV8(again, v) {
					t.Errorf("re-encoded value decodes to %#v; want %#v", again, v)
				}
			})
		}
	}
}

// TestV8RoundTrip sends Go values through the codec and back.
func TestV8RoundTrip(t *testing.T) {
	values := []any{
		"", "a", "ÿ", "Ā", "😀x", "\xed\xa0\x80", "a\xed\xbf\xbfb",
		0.0, -1.0, 1e300, math.Inf(-1), 5e-324,
		obj("0", 1.0, "4294967295", 2.0, "-1", 3.0, "01", 4.0, "", 5.0),
		obj("z", 1.0, "7", 2.0, "a", obj("y", 1.0, "x", 2.0, "1", []any{obj("q", 1.0, "p", 2.0)})),
		[]any{jsvalue.Undefined{}, nil, true, jsvalue.Hole{}, []any{}},
		&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: obj(), Value: &jsvalue.Set{}}, {Key: jsvalue.Undefined{}, Value: big.NewInt(-1 << 62)}, {Key: 1.0, Value: obj("b", 1.0, "a", 2.0)}}},
		&jsvalue.Error{Name: "URIError", Message: "u", Stack: "URIError: u\n    at x", Cause: &jsvalue.Error{Name: "EvalError"}, HasCause: true},
		&jsvalue.Error{Name: "SyntaxError"}, &jsvalue.Error{Name: "ReferenceError"},
		[]any{jsvalue.ArrayBuffer{}, jsvalue.Buffer{}, jsvalue.Uint8Array{}, []int8{-128}, []uint32{}, []int64{math.MinInt64}},
		jsvalue.RegExp{Source: "ü+", Flags: "dgimsuy"},
	}
	for _, v := range values {
		b, err := Append(nil, v)
		if err != nil {
			t.Fatalf("Append(%#v) = %v", v, err)
		}
		if got := mustDecode(t, b); !sameV8(got, v) {
			t.Errorf("round trip of %#v = %#v", v, got)
		}
	}
}

func TestJSNumberString(t *testing.T) {
	tests := map[float64]string{
		1.5: "1.5", -0.0: "0", 1e21: "1e+21", 1e-7: "1e-7", 123456789012345680000: "123456789012345680000",
		0.000001: "0.000001", -1.25e-10: "-1.25e-10", 4294967296: "4294967296", 1.7976931348623157e308: "1.7976931348623157e+308",
		math.Inf(1): "Infinity", 5e-324: "5e-324", 0.1: "0.1", 100: "100",
	}
	for f, want := range tests {
		if got := jsNumberString(f); got != want {
			t.Errorf("jsNumberString(%v) = %q; want %q", f, got, want)
		}
	}
	if got := jsNumberString(math.NaN()); got != "NaN" {
		t.Errorf("jsNumberString(NaN) = %q", got)
	}
}

// goValues are Go values Node must be able to read (checked by
// TestV8NodeRoundTrip).
func goValues() []any {
	self := map[string]any{}
	self["self"] = []any{self, jsvalue.Hole{}, self}
	// As deep as the encoder allows: Node 22 cannot read plain objects
	// much deeper than 1600 levels.
	deepArrays, deepObjects := any("leaf"), any("leaf")
	for range v8MaxEncodeDepth {
		deepArrays = []any{deepArrays}
	}
	for range v8MaxEncodeDepth {
		deepObjects = map[string]any{"a": deepObjects}
	}
	return []any{
		v8Msg{ID: 1, Op: "op", Tags: []string{"a"}, When: time.UnixMilli(5), Big: big.NewInt(-5), Raw: []byte{1}, Any: self},
		"\xed\xa0\x80 lone, \xed\xbf\xbf, 😀, é, €, \xff",
		[]any{"a", "€", "ab", "é€", map[string]any{"ü": "😀"}},
		&jsvalue.Error{Name: "TypeError", Message: "m", Stack: "TypeError: m\n    at x", Cause: &jsvalue.Error{Name: "RangeError", Cause: jsvalue.Undefined{}}},
		&jsvalue.Error{Name: "Custom", Message: "c"},
		jsvalue.RegExp{Source: "a.b", Flags: "dgimsuy"}, jsvalue.RegExp{Source: "[a--b]", Flags: "v"},
		&jsvalue.Array{Length: 5, Elements: map[uint32]any{1: 1, 4: "x"}, Props: obj("p", true, "a", false)},
		obj("z", 1, "10", 2, "2", 3, "a", &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: obj("y", 1, "x", 2), Value: obj("d", 1, "c", 2)}}}),
		&jsvalue.Array{Length: 4000000000, Elements: map[uint32]any{3999999999: 1}},
		&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1, Value: 2}, {Key: "1", Value: 3}, {Key: self, Value: self}}},
		&jsvalue.Set{Values: []any{1, 1.5, big.NewInt(-1 << 62), nil, jsvalue.Undefined{}}},
		[]any{jsvalue.Boxed{Value: true}, jsvalue.Boxed{Value: false}, jsvalue.Boxed{Value: math.NaN()}, jsvalue.Boxed{Value: "s"}, jsvalue.Boxed{Value: big.NewInt(9)}, jsvalue.Boxed{Value: 7}},
		[]any{[]int8{-1}, []int16{-1}, []uint16{1}, []int32{-1}, []uint32{1}, []float32{-0.5}, []float64{math.Inf(1)}, []int64{-1}, []uint64{1}},
		[]any{jsvalue.Buffer("b"), jsvalue.Uint8Array{1}, jsvalue.Uint8ClampedArray{2}, jsvalue.DataView{3}, jsvalue.ArrayBuffer{4}, jsvalue.ResizableArrayBuffer{Data: []byte{5}, MaxByteLength: 9}, jsvalue.Buffer{}},
		map[string]any{"0": 0, "4294967294": 1, "4294967295": 2, "-0": 3, "1.5": 4, "": 5},
		[]any{math.Copysign(0, -1), math.NaN(), math.Inf(-1), int64(1 << 31), int64(-1 << 31), int64(1 << 53), jsvalue.InvalidDate{}, time.Time{}},
		deepArrays,
		deepObjects,
	}
}

// TestV8NodeRoundTrip sends every captured value Node -> Go -> Node: Go
// decodes Node's payload and re-encodes it, and real Node checks with
// assert.deepStrictEqual that it reads the same value from Go's bytes as
// from its own. Node must also read every payload made from goValues.
func TestV8NodeRoundTrip(t *testing.T) {
	fixtures := v8Fixtures(t)
	for _, b := range nodetest.All(t) {
		bin := b.Path
		out, err := exec.Command(bin, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", bin, err)
		}
		version := strings.TrimSpace(string(out))
		major, _, _ := strings.Cut(version, ".")
		var values map[string][]byte
		for v, vals := range fixtures {
			if strings.HasPrefix(v, major+".") {
				values = vals
			}
		}
		if values == nil {
			t.Errorf("no fixtures for %s (%s)", version, bin)
			continue
		}
		pairs := map[string][2]string{}
		for i, v := range goValues() {
			b, err := Append(nil, v)
			if err != nil {
				t.Fatalf("Append(%#v): %v", v, err)
			}
			pairs[fmt.Sprintf("go_%d_%T", i, v)] = [2]string{"", hex.EncodeToString(b)}
		}
		for name, payload := range values {
			if name == "float16array" {
				continue
			}
			b, err := Append(nil, mustDecode(t, payload))
			if err != nil {
				t.Fatalf("%s: re-encoding: %v", name, err)
			}
			pairs[name] = [2]string{hex.EncodeToString(payload), hex.EncodeToString(b)}
		}
		in, err := json.Marshal(pairs)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--expose-internals", nodetest.JS("v8-capture.js"), "--verify")
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err = cmd.Output()
		if err != nil {
			t.Errorf("%s: Node read different values from Go's bytes: %v\n%s%s", version, err, out, stderr.String())
			continue
		}
		if want := fmt.Sprintf("verified %d of %d", len(pairs), len(pairs)); !strings.Contains(string(out), want) {
			t.Errorf("%s: %s; want %s", version, out, want)
		}
	}
}

// Every value captured from real Node survives advanced -> JSON view ->
// advanced, except cycles, which JSON cannot hold.
func TestJSONViewRoundTripsNodeFixtures(t *testing.T) {
	n := 0
	for version, values := range v8Fixtures(t) {
		for name, payload := range values {
			text, err := jsvalue.AppendJSON(nil, mustDecode(t, payload))
			if err != nil {
				t.Fatalf("%s/%s: AppendJSON: %v", version, name, err)
			}
			if !json.Valid(text) {
				t.Fatalf("%s/%s: AppendJSON wrote invalid JSON %s", version, name, text)
			}
			back, err := jsvalue.FromJSON(text)
			if strings.Contains(string(text), `{"$js":"circular"}`) {
				if !errors.Is(err, jsvalue.ErrInvalidJSON) {
					t.Errorf("%s/%s: a circular view parsed: %v", version, name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s/%s: FromJSON(%s): %v", version, name, text, err)
			}
			orig := mustDecode(t, payload)
			if name == "float16array" {
				if !sameV8(back, orig) {
					t.Errorf("%s/%s: %#v; want %#v", version, name, back, orig)
				}
				continue
			}
			enc, err := Append(nil, back)
			if err != nil {
				t.Fatalf("%s/%s: encoding %#v: %v", version, name, back, err)
			}
			if again := mustDecode(t, enc); !sameV8(again, orig) {
				t.Errorf("%s/%s: via JSON %s\n got %#v\nwant %#v", version, name, text, again, orig)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d fixtures checked", n)
	}
}
