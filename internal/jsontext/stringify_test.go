package jsontext

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// stdJSON is the oracle: encoding/json with HTML escaping off, without the
// trailing newline.
func stdJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// jsJSON is appendValue on an empty buffer, as a string.
func jsJSON(v any) (string, error) {
	b, err := appendValue(nil, v)
	return string(b), err
}

// Types used by the table tests.

// valMarshaler has a value-receiver MarshalJSON with spaces to compact.
type valMarshaler struct{ N int }

// MarshalJSON returns a spaced-out object holding N and HTML characters.
func (m valMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(` { "n" : [ %d , "<&>" ] } `, m.N)), nil
}

// ptrMarshaler has a pointer-receiver MarshalJSON that copes with nil.
type ptrMarshaler struct{ N int }

// MarshalJSON returns "P" followed by N, or "nilP" for a nil receiver.
func (m *ptrMarshaler) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte(`"nilP"`), nil
	}
	return []byte(fmt.Sprintf(`"P%d"`, m.N)), nil
}

// errMarshaler always fails.
type errMarshaler struct{}

// errBoom is the error errMarshaler and errText return.
var errBoom = errors.New("boom")

// MarshalJSON fails with errBoom.
func (errMarshaler) MarshalJSON() ([]byte, error) { return nil, errBoom }

// badMarshaler returns invalid JSON (or nothing).
type badMarshaler string

// MarshalJSON returns the string itself, which is usually not JSON.
func (b badMarshaler) MarshalJSON() ([]byte, error) { return []byte(b), nil }

// panicMarshaler panics in MarshalJSON.
type panicMarshaler struct{}

// MarshalJSON panics.
func (panicMarshaler) MarshalJSON() ([]byte, error) { panic("user bug") }

// nanMarshaler returns NaN-free JSON for a NaN-holding value (its own business).
type nanMarshaler struct{ F float64 }

// MarshalJSON encodes F as a string.
func (n nanMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", fmt.Sprint(n.F))), nil
}

// textKey is a TextMarshaler used as a value and as a map key.
type textKey struct{ A, B string }

// MarshalText joins A and B with a colon.
func (k textKey) MarshalText() ([]byte, error) { return []byte(k.A + ":" + k.B), nil }

// ptrText has a pointer-receiver MarshalText.
type ptrText int

// MarshalText returns "T" and the number.
func (p *ptrText) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("T%d", int(*p))), nil }

// errText fails in MarshalText.
type errText int

// MarshalText fails with errBoom.
func (errText) MarshalText() ([]byte, error) { return nil, errBoom }

// intTextKey is an integer-kinded key type with MarshalText, which wins.
type intTextKey int

// MarshalText returns "k" and the number.
func (k intTextKey) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("k%d", int(k))), nil }

// zeroer reports zero through a value-receiver IsZero.
type zeroer struct{ N int }

// IsZero reports whether N is 42 (deliberately not the Go zero value).
func (z zeroer) IsZero() bool { return z.N == 42 }

// ptrZeroer reports zero through a pointer-receiver IsZero.
type ptrZeroer struct{ N int }

// IsZero reports whether N is 7.
func (z *ptrZeroer) IsZero() bool { return z.N == 7 }

// Inner is embedded in the embedding tests.
type Inner struct {
	A int
	B int `json:"b"`
	C int
}

// Inner2 conflicts with Inner on A and C.
type Inner2 struct {
	A int
	C int `json:"C"`
}

// inner is an unexported embedded struct whose exported fields are promoted.
type inner struct {
	X int
	y int
}

// MyInt is an embedded non-struct type.
type MyInt int

// node is a self-referential type for cycle tests.
type node struct {
	Name string
	Next *node `json:",omitempty"`
}

// TestAppendJSJSONTable checks each encoding rule against hand-written expected output.
func TestAppendJSJSONTable(t *testing.T) {
	ptr := func(f float64) *float64 { return &f }
	negZero := math.Copysign(0, -1)
	pm := &ptrMarshaler{N: 3}
	pt := ptrText(5)
	type S1 struct {
		Renamed   int     `json:"r"`
		Skip      int     `json:"-"`
		Dash      int     `json:"-,"`
		Plain     string  `json:""`
		Invalid   int     `json:"a\"b"`
		Quoted    int     `json:",string"`
		QBool     bool    `json:",string"`
		QStr      string  `json:",string"`
		QFloat    float64 `json:",string"`
		QPtr      *int    `json:",string"`
		QSlice    []int   `json:",string"`
		private   int
		OmitInt   int               `json:",omitempty"`
		OmitStr   string            `json:",omitempty"`
		OmitSlice []int             `json:",omitempty"`
		OmitMap   map[string]int    `json:",omitempty"`
		OmitPtr   *int              `json:",omitempty"`
		OmitIface any               `json:",omitempty"`
		OmitArr   [0]int            `json:",omitempty"`
		OmitArr2  [2]int            `json:",omitempty"`
		OmitStruc struct{}          `json:",omitempty"`
		OmitBool  bool              `json:",omitempty"`
		OmitFl    float64           `json:",omitempty"`
		OmitEmpM  map[string]string `json:",omitempty"`
	}
	seven := 7
	type S2 struct {
		T    time.Time       `json:",omitzero"`
		Arr  [2]int          `json:",omitzero"`
		St   struct{ A int } `json:",omitzero"`
		Z    zeroer          `json:",omitzero"`
		PZ   ptrZeroer       `json:",omitzero"`
		PZp  *ptrZeroer      `json:",omitzero"`
		Sl   []int           `json:",omitzero"`
		Both []int           `json:",omitempty,omitzero"`
		Fl   float64         `json:",omitzero"` // -0 is zero for reflect.Value.IsZero: omitted
	}
	type Emb struct {
		Inner
		Inner2
		*node
		inner
		MyInt
		D int
	}
	type TaggedEmb struct {
		Inner `json:"in"`
		D     int
	}
	type Deep struct {
		Emb
		A string // shallower than Emb.Inner.A, wins
	}
	type EmbIface struct {
		fmt.Stringer
	}
	type WithMarshalers struct {
		V  valMarshaler
		P  ptrMarshaler
		PP *ptrMarshaler
		NP *ptrMarshaler
		T  textKey
		PT ptrText
		I  json.Marshaler
		R  json.RawMessage
		RN json.RawMessage
		N  json.Number
		NQ json.Number `json:",string"`
		NE json.Number
	}
	type Floats struct {
		F   float64
		F32 float32
		Q   float64 `json:",string"`
		QZ  float64 `json:",string"`
		P   *float64
		OE  float64 `json:",omitempty"` // -0 is empty: omitted
	}

	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, `null`},
		{"true", true, `true`},
		{"int", -42, `-42`},
		{"int64min", int64(math.MinInt64), `-9223372036854775808`},
		{"uint64max", uint64(math.MaxUint64), `18446744073709551615`},
		{"uintptr", uintptr(9), `9`},
		{"float 1.5", 1.5, `1.5`},
		{"float 1e21", 1e21, `1e+21`},
		{"float 1e20", 1e20, `100000000000000000000`},
		{"float 1e-7", 1e-7, `1e-7`},
		{"float 1e-6", 1e-6, `0.000001`},
		{"float -1.25e-10", -1.25e-10, `-1.25e-10`},
		{"float denormal", 5e-324, `5e-324`},
		{"float max", math.MaxFloat64, `1.7976931348623157e+308`},
		{"float integral", 123456789.0, `123456789`},
		{"float32 0.1", float32(0.1), `0.1`},
		{"float32 1e21", float32(1e21), `1e+21`},
		{"float32 widened", float64(float32(0.1)), `0.10000000149011612`},
		{"NaN", math.NaN(), `null`},
		{"+Inf", math.Inf(1), `null`},
		{"-Inf", math.Inf(-1), `null`},
		{"float32 NaN", float32(math.NaN()), `null`},
		{"float32 -Inf", float32(math.Inf(-1)), `null`},
		{"-0", negZero, `0`},
		{"float32 -0", float32(negZero), `0`},
		{"floats in slice", []float64{1, math.NaN(), math.Inf(1), math.Inf(-1), negZero}, `[1,null,null,null,0]`},
		{"floats in map", map[string]any{"a": math.NaN(), "b": float32(math.Inf(1)), "c": 2.5}, `{"a":null,"b":null,"c":2.5}`},
		{"floats in struct", Floats{F: math.NaN(), F32: float32(math.Inf(1)), Q: math.Inf(-1), QZ: negZero, P: ptr(math.NaN()), OE: negZero},
			`{"F":null,"F32":null,"Q":null,"QZ":"0","P":null}`},
		{"nan marshaler", nanMarshaler{math.NaN()}, `"NaN"`},
		{"string html", "<a href=\"x\">&amp;</a>", `"<a href=\"x\">&amp;</a>"`},
		{"string controls", "\x00\x01\x1f\b\f\n\r\t\"\\/\x7f", `"\u0000\u0001\u001f\b\f\n\r\t\"\\/` + "\x7f" + `"`},
		{"string separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"string invalid utf8", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"string surrogate bytes", "\xed\xa0\x80", `"\ud800"`},
		{"string multibyte", "héllo 世界 😀", `"héllo 世界 😀"`},
		{"bytes", []byte{1, 2, 3, 255}, `"AQID/w=="`},
		{"nil bytes", []byte(nil), `null`},
		{"byte array", [3]byte{1, 2, 3}, `[1,2,3]`},
		{"empty slice", []int{}, `[]`},
		{"nil slice", []int(nil), `null`},
		{"nil map", map[string]int(nil), `null`},
		{"empty map", map[string]int{}, `{}`},
		{"nil pointer", (*int)(nil), `null`},
		{"pointer", &seven, `7`},
		{"any slice", []any{1, "x", nil, true, []int{2}}, `[1,"x",null,true,[2]]`},
		{"map sorted", map[string]int{"b": 2, "a": 1, "é": 3, "B": 0}, `{"B":0,"a":1,"b":2,"é":3}`},
		{"map int keys", map[int]string{10: "x", -1: "y", 2: "z"}, `{"-1":"y","10":"x","2":"z"}`},
		{"map uint8 keys", map[uint8]bool{200: true, 3: false}, `{"200":true,"3":false}`},
		{"map text keys", map[textKey]int{{"b", "1"}: 1, {"a", "2"}: 2}, `{"a:2":2,"b:1":1}`},
		{"map int text keys", map[intTextKey]int{2: 1, 10: 2}, `{"k10":2,"k2":1}`},
		{"map key escaping", map[string]int{"<\"\xff": 1}, `{"<\"\ufffd":1}`},
		{"struct tags", S1{Renamed: 1, Skip: 2, Dash: 3, Plain: "p", Invalid: 4, Quoted: 5, QBool: true, QStr: "s\"<", QFloat: 0.5, QPtr: &seven, QSlice: []int{1}, private: 9, OmitMap: map[string]int{"k": 1}, OmitEmpM: map[string]string{}},
			`{"r":1,"-":3,"Plain":"p","Invalid":4,"Quoted":"5","QBool":"true","QStr":"\"s\\\"<\"","QFloat":"0.5","QPtr":"7","QSlice":[1],"OmitMap":{"k":1},"OmitArr2":[0,0],"OmitStruc":{}}`},
		{"omitzero zero", S2{Z: zeroer{42}, PZ: ptrZeroer{7}, PZp: &ptrZeroer{7}, Sl: nil, Both: []int{}},
			`{}`},
		{"omitzero nonzero", S2{T: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), Arr: [2]int{0, 1}, St: struct{ A int }{1}, Z: zeroer{0}, PZ: ptrZeroer{0}, PZp: &ptrZeroer{1}, Sl: []int{}, Both: []int{1}, Fl: negZero},
			`{"T":"2020-01-02T03:04:05Z","Arr":[0,1],"St":{"A":1},"Z":{"N":0},"PZ":{"N":0},"PZp":{"N":1},"Sl":[],"Both":[1]}`},
		{"embedding", Emb{Inner: Inner{A: 1, B: 2, C: 3}, Inner2: Inner2{A: 4, C: 5}, inner: inner{X: 6, y: 7}, MyInt: 8, D: 9},
			`{"b":2,"C":5,"X":6,"MyInt":8,"D":9}`},
		{"embedding nil pointer with fields", Emb{node: &node{Name: "n"}}, `{"b":0,"C":0,"Name":"n","X":0,"MyInt":0,"D":0}`},
		{"embedding depth", Deep{A: "top"}, `{"b":0,"C":0,"X":0,"MyInt":0,"D":0,"A":"top"}`},
		{"tagged embedded", TaggedEmb{Inner: Inner{A: 1}, D: 2}, `{"in":{"A":1,"b":0,"C":0},"D":2}`},
		{"embedded interface", EmbIface{}, `{"Stringer":null}`},
		{"marshalers", &WithMarshalers{V: valMarshaler{1}, P: ptrMarshaler{2}, PP: pm, T: textKey{"x", "<y>"}, PT: pt, I: (*ptrMarshaler)(nil), R: json.RawMessage(" [ 1 ,\n 2 ] "), N: "12.5e3", NQ: "-1", NE: ""},
			`{"V":{"n":[1,"<&>"]},"P":"P2","PP":"P3","NP":null,"T":"x:<y>","PT":"T5","I":"nilP","R":[1,2],"RN":null,"N":12.5e3,"NQ":"-1","NE":0}`},
		{"marshalers not addressable", WithMarshalers{P: ptrMarshaler{2}, PT: pt, R: json.RawMessage(`{}`)},
			`{"V":{"n":[0,"<&>"]},"P":{"N":2},"PP":null,"NP":null,"T":":","PT":5,"I":null,"R":{},"RN":null,"N":0,"NQ":"0","NE":0}`},
		{"slice elements addressable", []ptrMarshaler{{1}, {2}}, `["P1","P2"]`},
		{"array elements not addressable", [1]ptrMarshaler{{1}}, `[{"N":1}]`},
		{"map values not addressable", map[string]ptrMarshaler{"a": {1}}, `{"a":{"N":1}}`},
		{"marshaler in interface nil value receiver", struct{ M json.Marshaler }{(*valMarshaler)(nil)}, `{"M":null}`},
		{"nil pointer value marshaler", (*valMarshaler)(nil), `null`},
		{"text marshaler in interface nil value receiver", struct{ M encoding.TextMarshaler }{(*textKey)(nil)}, `{"M":null}`},
		{"nil interface field", struct{ M fmt.Stringer }{}, `{"M":null}`},
		{"nil interface map key", map[encoding.TextMarshaler]int{nil: 1}, `{"":1}`}, // encoding/json panics
		{"raw message top", json.RawMessage(`{"a" : "<"}`), `{"a":"<"}`},
		{"nested pointers", &node{Name: "a", Next: &node{Name: "b"}}, `{"Name":"a","Next":{"Name":"b"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jsJSON(tt.v)
			if err != nil {
				t.Fatalf("appendValue(%#v): %v", tt.v, err)
			}
			if got != tt.want {
				t.Errorf("appendValue(%#v)\n got: %s\nwant: %s", tt.v, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
}

// TestAppendJSJSONNegZeroDiffers documents the one difference for finite
// values: encoding/json writes -0, JSON.stringify writes 0.
func TestAppendJSJSONNegZeroDiffers(t *testing.T) {
	negZero := math.Copysign(0, -1)
	std, err := stdJSON(negZero)
	if err != nil || std != "-0" {
		t.Fatalf("encoding/json(-0) = %q, %v; the premise of this test changed", std, err)
	}
	if got, _ := jsJSON(negZero); got != "0" {
		t.Errorf("appendValue(-0) = %s, want 0", got)
	}
}

// TestAppendJSJSONErrors checks that unencodable values fail with an error that says why, leave dst alone and never panic.
func TestAppendJSJSONErrors(t *testing.T) {
	type badField struct {
		Ch chan int
	}
	type embeddedErr struct {
		X errMarshaler
	}
	selfPtr := &node{Name: "loop"}
	selfPtr.Next = selfPtr
	selfMap := map[string]any{}
	selfMap["m"] = selfMap
	selfSlice := []any{nil}
	selfSlice[0] = selfSlice
	selfAny := new(any)
	*selfAny = selfAny
	type cyc struct{ Self any }
	c := &cyc{}
	c.Self = []any{map[string]any{"p": c}}

	tests := []struct {
		name  string
		v     any
		cause error // also expected in the chain, if not nil
		msg   string
	}{
		{"chan", make(chan int), nil, "unsupported type"},
		{"func", func() {}, nil, "unsupported type"},
		{"complex", complex(1, 2), nil, "unsupported type"},
		{"chan field", badField{}, nil, "unsupported type"},
		{"chan in any", []any{1, make(chan int)}, nil, "unsupported type"},
		{"bad map key", map[[2]int]int{{1, 2}: 3}, nil, "unsupported type"},
		{"marshaler error", embeddedErr{}, errBoom, "MarshalJSON"},
		{"marshaler invalid json", badMarshaler(`{"a":}`), nil, "MarshalJSON"},
		{"marshaler trailing data", badMarshaler(`1 2`), nil, "MarshalJSON"},
		{"marshaler empty", badMarshaler(``), nil, "MarshalJSON"},
		{"marshaler NaN literal", badMarshaler(`NaN`), nil, "MarshalJSON"},
		{"raw message invalid", json.RawMessage(`[1,`), nil, "MarshalJSON"},
		{"text marshaler error", errText(1), errBoom, "MarshalText"},
		{"text map key error", map[errText]int{1: 1}, errBoom, "encoding error"},
		{"invalid number", json.Number("1e"), nil, "invalid number"},
		{"invalid number NaN", json.Number("NaN"), nil, "invalid number"},
		{"pointer cycle", selfPtr, nil, "cycle"},
		{"map cycle", selfMap, nil, "cycle"},
		{"slice cycle", selfSlice, nil, "cycle"},
		{"mixed cycle", c, nil, "cycle"},
		{"panicking marshaler", []any{panicMarshaler{}}, nil, "panic"},
		{"interface pointer cycle", selfAny, nil, "cycle"},
		// Two embedded MarshalJSON methods cancel out, so the outer struct
		// is not a Marshaler and the unexported embedded fields are reached
		// directly; reflect forbids calling their methods (encoding/json
		// panics here).
		{"unexported embedded marshaler with tag", struct {
			valMarshaler `json:"v"`
			errMarshaler `json:"e"`
		}{}, nil, "unexported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got, err := appendValue(prefix, tt.v)
			if err == nil {
				t.Fatalf("appendValue(%T) = %s, want error", tt.v, got)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap %v", err, tt.cause)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if string(got) != "prefix" {
				t.Errorf("on error got %q, want the untouched prefix", got)
			}
		})
	}
}

// TestAppendJSJSONAppends checks that output is appended after existing bytes.
func TestAppendJSJSONAppends(t *testing.T) {
	got, err := appendValue([]byte("x:"), map[string]float64{"a": math.NaN()})
	if err != nil || string(got) != `x:{"a":null}` {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestAppendJSJSONDeepNoCycle checks cycle detection past the depth threshold: no false positives, long cycles found.
func TestAppendJSJSONDeepNoCycle(t *testing.T) {
	// Deeper than the cycle-detection threshold, but acyclic, and sharing
	// pointers between siblings (which is not a cycle).
	var head *node
	for i := 0; i < 3*jsCycleAfter; i++ {
		head = &node{Name: "n", Next: head}
	}
	got, err := jsJSON([]*node{head, head})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := stdJSON([]*node{head, head})
	if got != want {
		t.Errorf("deep list differs from encoding/json")
	}
	// A long cycle, entered past the threshold, is still found.
	var first *node
	last := &node{Name: "last"}
	first = last
	for i := 0; i < 2*jsCycleAfter; i++ {
		first = &node{Name: "n", Next: first}
	}
	last.Next = first
	if _, err := jsJSON(first); err == nil {
		t.Errorf("long cycle: err = %v", err)
	}
}

// TestAppendJSJSONRecursiveTypeConcurrent encodes a new recursive type from several goroutines (run with -race).
func TestAppendJSJSONRecursiveTypeConcurrent(t *testing.T) {
	// Fresh recursive type, encoded concurrently to exercise the caches.
	type tree struct {
		Kids []tree           `json:"k,omitempty"`
		M    map[string]*tree `json:"m,omitempty"`
		V    float64          `json:"v"`
	}
	v := tree{Kids: []tree{{V: math.NaN()}, {V: 1, M: map[string]*tree{"x": {V: 2}}}}}
	want := `{"k":[{"v":null},{"m":{"x":{"v":2}},"v":1}],"v":0}`
	done := make(chan string)
	for range 8 {
		go func() {
			got, err := jsJSON(v)
			if err != nil {
				got = err.Error()
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// Property test and fuzz target: encoding/json is the oracle.

// Sentinels stand in for NaN/±Inf in the oracle's input (the oracle cannot
// encode them); their text in the oracle's output is replaced by null. Like
// NaN, a sentinel is neither empty nor zero for omitempty/omitzero. -0 is
// stood in for by +0: both are zero for reflect.Value.IsZero (so for
// omitempty/omitzero), and appendValue must write both as 0, which is what
// the oracle writes for +0.
const (
	sentNaN64  = 1.2345e-300
	sentNaN32  = float32(6.789e-30)
	sentNaN64s = "1.2345e-300"
	sentNaN32s = "6.789e-30"
)

// fromSentinels rewrites oracle output made from sentinel-holding values into
// the output expected from the same values holding NaN/±Inf. Under ",string"
// the oracle writes a quoted sentinel; appendValue writes a bare null.
func fromSentinels(s string) string {
	s = strings.NewReplacer(`"`+sentNaN64s+`"`, "null", sentNaN64s, "null").Replace(s)
	return strings.NewReplacer(`"`+sentNaN32s+`"`, "null", sentNaN32s, "null").Replace(s)
}

// MyString is a named string type.
type MyString string

// PEmbA is embedded in PStruct; its A conflicts with PEmbB.A.
type PEmbA struct {
	A int
	B string `json:"b,omitempty"`
	F float64
}

// PEmbB is embedded by pointer in PStruct.
type PEmbB struct {
	A int
	C []byte  `json:",omitempty"`
	F float32 `json:"F"` // tagged: wins over PEmbA.F
}

// pEmbC is an unexported embedded struct with exported fields.
type pEmbC struct {
	X *int `json:"x,string"`
	Y map[string]float64
}

// PStruct exercises most encoding rules at once.
type PStruct struct {
	PEmbA
	*PEmbB
	pEmbC
	Name   string     `json:"name"`
	Tagged string     `json:"-,"`
	Skip   int        `json:"-"`
	Q      int64      `json:",string"`
	QS     string     `json:",string,omitempty"`
	QF     float64    `json:"qf,string"`
	QF32   *float32   `json:",string"`
	QB     bool       `json:",string"`
	OE     []any      `json:",omitempty"`
	OEF    float64    `json:",omitempty"`
	OZ     *PEmbA     `json:",omitzero"`
	OZT    time.Time  `json:",omitzero"`
	OZA    [2]float64 `json:",omitzero"`
	Z      zeroer     `json:",omitzero"`
	PZ     ptrZeroer  `json:"pz,omitzero"`
	M      map[int]string
	MT     map[textKey]*float32
	MU     map[uint16][]string `json:"mu,omitempty"`
	MI     map[intTextKey]MyString
	Any    any
	Arr    [3]int8
	Bytes  []byte
	BArr   [2]uint8
	V      valMarshaler
	P      ptrMarshaler
	PP     *ptrMarshaler
	T      textKey
	PT     ptrText
	I      json.Marshaler
	R      json.RawMessage
	N      json.Number
	Kids   []*PStruct `json:"kids,omitempty"`
	U      uintptr
	Str2   MyString
	F32s   []float32
	unexp  int
}

// valueGen fills Go values from a random source. With real set, special
// floats are NaN/±Inf/-0; otherwise the sentinels. Both modes consume the
// random source identically, so one seed gives two parallel values.
type valueGen struct {
	r    *rand.Rand
	real bool
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	timeType       = reflect.TypeFor[time.Time]()
	pstructType    = reflect.TypeFor[PStruct]()
)

// strPieces are the building blocks of random strings. A lone surrogate in
// WTF-8 form is left out: the oracle writes it as three U+FFFD, which
// AppendString deliberately does not (see TestAppendStringInvalidUTF8).
var strPieces = []string{"a", "Z", "0", "-", " ", "<", ">", "&", `"`, `\`, "/", "\n", "\t", "\x00", "\x1f", "\x7f",
	"é", "世", "😀", "\u2028", "\u2029", "\xff", "\xc3", "\xed\xa0", "\xe2\x80", "\ufffd", "\u00a0"}

// str returns a random string of a few pieces.
func (g *valueGen) str() string {
	var b strings.Builder
	for n := g.r.IntN(6); n > 0; n-- {
		b.WriteString(strPieces[g.r.IntN(len(strPieces))])
	}
	return b.String()
}

// float returns a random float of the given size, sometimes special.
func (g *valueGen) float(bits int) float64 {
	switch g.r.IntN(8) {
	case 0:
		k := g.r.IntN(4)
		if !g.real {
			if k == 3 {
				return 0 // stands in for -0
			}
			if bits == 32 {
				return float64(sentNaN32)
			}
			return sentNaN64
		}
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}[k]
	case 1:
		return []float64{0, 1, -1, 0.1, 1e21, 1e20, 999999999999999999999.0, 1e-6, 1e-7, 123456789, 5e-324,
			math.MaxFloat32, math.SmallestNonzeroFloat32, 1 << 53, 1<<53 + 2, -2.5e-8}[g.r.IntN(16)]
	case 2:
		return float64(g.r.Int64N(2000001) - 1000000)
	}
	for {
		var f float64
		if bits == 32 {
			f = float64(math.Float32frombits(g.r.Uint32()))
		} else {
			f = math.Float64frombits(g.r.Uint64())
		}
		if !math.IsNaN(f) && !math.IsInf(f, 0) && !(f == 0 && math.Signbit(f)) {
			return f
		}
	}
}

// anyValue returns a random value for an interface{} slot.
func (g *valueGen) anyValue(depth int) any {
	switch g.r.IntN(10) {
	case 0:
		return nil
	case 1:
		return g.float(64)
	case 2:
		return g.str()
	case 3:
		return g.r.IntN(2) == 0
	case 4:
		if depth > 3 {
			return []any{}
		}
		s := make([]any, g.r.IntN(4))
		for i := range s {
			s[i] = g.anyValue(depth + 1)
		}
		return s
	case 5:
		if depth > 3 {
			return map[string]any{}
		}
		m := map[string]any{}
		for n := g.r.IntN(4); n > 0; n-- {
			m[g.str()] = g.anyValue(depth + 1)
		}
		return m
	case 6:
		if depth > 2 {
			return nil
		}
		p := reflect.New(pstructType)
		g.fill(p.Elem(), depth+1)
		return p.Interface()
	case 7:
		return valMarshaler{g.r.IntN(100)}
	case 8:
		return float32(g.float(32))
	}
	return g.r.Int64()
}

// marshalerValue returns a random value for a json.Marshaler slot.
func (g *valueGen) marshalerValue() json.Marshaler {
	switch g.r.IntN(5) {
	case 0:
		return nil
	case 1:
		return valMarshaler{g.r.IntN(100)}
	case 2:
		return &ptrMarshaler{g.r.IntN(100)}
	case 3:
		return (*ptrMarshaler)(nil)
	}
	return g.rawMessage()
}

// rawMessage returns valid JSON with insignificant whitespace.
func (g *valueGen) rawMessage() json.RawMessage {
	return json.RawMessage([]string{`null`, ` 1 `, `{ "a" : [ 1 , 2.5e3 , "<&>" ] }`, "\t[\n]\r", `"\u2028 x"`, `-0`, `{}`, `"` + "\u2028" + `"`}[g.r.IntN(8)])
}

// fill sets the settable value v to a random value of its type.
func (g *valueGen) fill(v reflect.Value, depth int) {
	t := v.Type()
	switch t {
	case timeType:
		v.Set(reflect.ValueOf(time.Unix(g.r.Int64N(1<<34), g.r.Int64N(1e9)).UTC()))
		return
	case rawMessageType:
		if g.r.IntN(4) > 0 {
			v.Set(reflect.ValueOf(g.rawMessage()))
		}
		return
	case reflect.TypeFor[json.Number]():
		v.SetString([]string{"", "0", "-1", "12.5e3", "1E+2", "-0.0", "123456789012345678901234567890"}[g.r.IntN(7)])
		return
	case reflect.TypeFor[json.Marshaler]():
		if m := g.marshalerValue(); m != nil {
			v.Set(reflect.ValueOf(m))
		}
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if g.r.IntN(3) == 0 {
			return // zero, for omitempty
		}
		v.SetInt(g.r.Int64() >> (64 - t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if g.r.IntN(3) == 0 {
			return
		}
		v.SetUint(g.r.Uint64() >> (64 - t.Bits()))
	case reflect.Float32:
		v.SetFloat(g.float(32))
	case reflect.Float64:
		v.SetFloat(g.float(64))
	case reflect.String:
		v.SetString(g.str())
	case reflect.Interface:
		if a := g.anyValue(depth); a != nil {
			v.Set(reflect.ValueOf(a))
		}
	case reflect.Pointer:
		if depth > 3 || g.r.IntN(3) == 0 {
			return
		}
		p := reflect.New(t.Elem())
		g.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if g.r.IntN(4) == 0 {
			return
		}
		n := g.r.IntN(4)
		if depth > 3 {
			n = 0
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			g.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			g.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if g.r.IntN(4) == 0 {
			return
		}
		m := reflect.MakeMap(t)
		n := g.r.IntN(4)
		if depth > 3 {
			n = 0
		}
		for range n {
			k := reflect.New(t.Key()).Elem()
			g.fill(k, depth+1)
			e := reflect.New(t.Elem()).Elem()
			g.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			if f.CanSet() {
				g.fill(f, depth+1)
			} else if f.Kind() == reflect.Struct {
				g.fill(f, depth) // unexported embedded struct: fill its exported fields
			}
		}
	}
}

// propTopTypes are the top-level types the property test generates.
var propTopTypes = []reflect.Type{
	pstructType,
	reflect.TypeFor[*PStruct](),
	reflect.TypeFor[[]PStruct](),
	reflect.TypeFor[map[string]PStruct](),
	reflect.TypeFor[[2]PStruct](),
	reflect.TypeFor[any](),
	reflect.TypeFor[[]any](),
	reflect.TypeFor[map[textKey]any](),
	reflect.TypeFor[[]float32](),
	reflect.TypeFor[map[string]*float64](),
}

// genPair returns the same random value twice: with sentinels and with real
// NaN/±Inf/-0 in their place.
func genPair(seed uint64) (sentinel, real any) {
	t := propTopTypes[seed%uint64(len(propTopTypes))]
	mk := func(realMode bool) any {
		g := &valueGen{r: rand.New(rand.NewPCG(seed, 7)), real: realMode}
		p := reflect.New(t)
		g.fill(p.Elem(), 0)
		return p.Elem().Interface()
	}
	return mk(false), mk(true)
}

// TestAppendJSJSONMatchesEncodingJSON is the oracle property test: random values of many types encode exactly as
// encoding/json (SetEscapeHTML(false)) does, and the same values with
// NaN/±Inf/-0 in place of some floats encode as JSON.stringify would.
func TestAppendJSJSONMatchesEncodingJSON(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	errs := 0
	defer func() {
		if errs > n/20 {
			t.Errorf("%d of %d generated values could not be encoded: the generator is too weak", errs, n)
		}
	}()
	for seed := range uint64(n) {
		sent, real := genPair(seed)
		want, werr := stdJSON(sent)
		got, gerr := jsJSON(sent)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("seed %d: error mismatch: encoding/json %v, appendValue %v", seed, werr, gerr)
		}
		if werr != nil {
			errs++
			continue
		}
		if got != want {
			t.Fatalf("seed %d: finite value differs\n got: %s\nwant: %s", seed, got, want)
		}
		got, gerr = jsJSON(real)
		if gerr != nil {
			t.Fatalf("seed %d: with NaN/Inf/-0: %v", seed, gerr)
		}
		if want := fromSentinels(want); got != want {
			t.Fatalf("seed %d: value with NaN/Inf/-0 differs\n got: %s\nwant: %s", seed, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("seed %d: invalid JSON %s", seed, got)
		}
	}
}

// setFloats sets every float reachable from v (through pointers,
// interfaces, slices, arrays, maps and exported struct fields) to f(bits).
func setFloats(v reflect.Value, f func(bits int) float64) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f(v.Type().Bits()))
	case reflect.Pointer:
		if !v.IsNil() {
			setFloats(v.Elem(), f)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		setFloats(e, f)
		v.Set(e)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			setFloats(v.Index(i), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			setFloats(e, f)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := range v.NumField() {
			if fv := v.Field(i); fv.CanSet() || fv.Kind() == reflect.Struct {
				setFloats(fv, f)
			}
		}
	}
}

// checkAllFloats encodes the value in p (a pointer) with every float set to
// each special value in turn, against the oracle with the matching sentinel.
func checkAllFloats(t *testing.T, p reflect.Value) {
	t.Helper()
	for _, c := range []struct {
		name     string
		real     float64
		sent32   float32
		sentinel float64
	}{
		{"NaN", math.NaN(), sentNaN32, sentNaN64},
		{"+Inf", math.Inf(1), sentNaN32, sentNaN64},
		{"-Inf", math.Inf(-1), sentNaN32, sentNaN64},
		{"-0", math.Copysign(0, -1), 0, 0},
	} {
		setFloats(p, func(bits int) float64 {
			if bits == 32 {
				return float64(c.sent32)
			}
			return c.sentinel
		})
		want, err := stdJSON(p.Interface())
		if err != nil {
			continue // e.g. a json.Number decoded from junk: checked elsewhere
		}
		want = fromSentinels(want)
		setFloats(p, func(int) float64 { return c.real })
		got, err := jsJSON(p.Interface())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != want {
			t.Fatalf("%s: got %s\nwant %s", c.name, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("%s: invalid JSON %s", c.name, got)
		}
	}
}

// fixNegZero replaces -0 by +0 everywhere in v.
func fixNegZero(v reflect.Value) {
	setFloatsIf(v, func(x float64) float64 {
		if x == 0 {
			return 0
		}
		return x
	})
}

// setFloatsIf maps every float reachable from v through f.
func setFloatsIf(v reflect.Value, f func(float64) float64) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f(v.Float()))
	case reflect.Pointer:
		if !v.IsNil() {
			setFloatsIf(v.Elem(), f)
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		setFloatsIf(e, f)
		v.Set(e)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			setFloatsIf(v.Index(i), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			setFloatsIf(e, f)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if fv := v.Field(i); fv.CanSet() || fv.Kind() == reflect.Struct {
				setFloatsIf(fv, f)
			}
		}
	}
}

// injectSpecials returns two copies of the JSON-decoded tree v: one where
// every other number and one extra element per array and object is NaN,
// +Inf, -Inf or -0, and one with what JSON.stringify writes for those
// (nil, or 0 for -0).
func injectSpecials(v any, k *int) (withSpecials, expected any) {
	next := func() (any, any) {
		*k++
		switch *k % 4 {
		case 0:
			return math.NaN(), nil
		case 1:
			return math.Inf(1), nil
		case 2:
			return math.Inf(-1), nil
		}
		return math.Copysign(0, -1), 0.0
	}
	switch x := v.(type) {
	case float64:
		*k++
		if *k%2 == 0 {
			return next()
		}
		return x, x
	case []any:
		a, b := make([]any, 0, len(x)+1), make([]any, 0, len(x)+1)
		for _, e := range x {
			ea, eb := injectSpecials(e, k)
			a, b = append(a, ea), append(b, eb)
		}
		sa, sb := next()
		return append(a, sa), append(b, sb)
	case map[string]any:
		a, b := make(map[string]any, len(x)+1), make(map[string]any, len(x)+1)
		for key, e := range x {
			a[key], b[key] = injectSpecials(e, k)
		}
		a["\u2028nan<"], b["\u2028nan<"] = next()
		return a, b
	}
	return v, v
}

// fuzzStruct is what FuzzAppendJSJSON decodes fuzz input into besides any.
type fuzzStruct struct {
	PStruct
	Floats  []float64          `json:"floats"`
	F32     float32            `json:"f32,omitempty"`
	QF      float64            `json:"qf2,string"`
	MF      map[string]float32 `json:"mf"`
	Nested  *fuzzStruct        `json:"nested,omitempty"`
	Numbers []json.Number      `json:"numbers"`
}

// FuzzAppendJSJSON decodes fuzz input into any and into a struct and compares appendValue
// with the oracle, also with NaN/±Inf/-0 injected (which must come out as
// null or 0 and stay valid JSON).
func FuzzAppendJSJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `1`, `-0`, `1e21`, `"<&>\u2028\ud800"`, `[1,-0,2.5e-7,"x",null,true]`,
		`{"a":{"b":[1,{"c":-0.0}]},"é":"\u0000"}`,
		`{"name":"n","floats":[1,-0,3],"f32":1.5,"qf2":"2.5","mf":{"x":-0},"nested":{"F":1e300}}`,
		`{"Any":[1,{"x":2}],"OE":[-0],"QF":"1e-7","numbers":[1,2.5e10],"N":3,"b":"b","F":7,"Y":{"k":-1}}`,
		`{"kids":[{"OZA":[1,0]},null],"MU":{"7":["a"]},"R":{"z":[ 1 ]},"I":null,"Bytes":"AQID"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tree any
		if err := json.Unmarshal(data, &tree); err == nil {
			// Plain tree: equals the oracle once -0 is normalized.
			p := reflect.ValueOf(&tree)
			want, err := stdJSON(tree) // may contain -0
			if err != nil {
				t.Fatalf("oracle failed on decoded JSON: %v", err)
			}
			got, err := jsJSON(tree)
			if err != nil {
				t.Fatalf("appendValue: %v", err)
			}
			fixNegZero(p.Elem())
			if want2, _ := stdJSON(tree); got != want2 {
				t.Fatalf("tree differs\n got: %s\nwant: %s (before -0 fix: %s)", got, want2, want)
			}
			// NaN-injected variant.
			k := 0
			withSpecials, expected := injectSpecials(tree, &k)
			got, err = jsJSON(withSpecials)
			if err != nil {
				t.Fatalf("appendValue with specials: %v", err)
			}
			want, err = stdJSON(expected)
			if err != nil {
				t.Fatalf("oracle on expected: %v", err)
			}
			if got != want {
				t.Fatalf("tree with specials differs\n got: %s\nwant: %s", got, want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("invalid JSON: %s", got)
			}
		}

		// Typed struct: decoding may fail part-way; whatever got filled is
		// a fine value to encode.
		var s fuzzStruct
		_ = json.Unmarshal(data, &s)
		p := reflect.ValueOf(&s)
		fixNegZero(p)
		want, werr := stdJSON(&s)
		got, gerr := jsJSON(&s)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("struct: error mismatch: encoding/json %v, appendValue %v", werr, gerr)
		}
		if werr != nil {
			if gerr == nil {
				t.Fatalf("struct: no error")
			}
			return
		}
		if got != want {
			t.Fatalf("struct differs\n got: %s\nwant: %s", got, want)
		}
		checkAllFloats(t, p)
	})
}

// Types for TestAppendJSJSONOracleExtras.
type (
	exC   struct{ X int }
	exD   struct{ exC }
	exA   struct{ exD }
	exB   struct{ exD }
	exA2  struct{ exC }
	exB2  struct{ exC }
	exRec struct {
		*exRec
		X int
	}
	exByte    byte
	exTByte   byte
	exBytes   []byte
	exStrKey  string
	exBoth    struct{ N int }
	exTimeEmb struct {
		time.Time
		X int
	}
)

// MarshalText gives exTByte's pointer a text form, so []exTByte is an array.
func (b *exTByte) MarshalText() ([]byte, error) { return []byte{'t', byte(*b)}, nil }

// MarshalText is ignored for map keys: the string kind wins.
func (k exStrKey) MarshalText() ([]byte, error) { return []byte("text"), nil }

// MarshalJSON and MarshalText: which one is called depends on the static type.
func (exBoth) MarshalJSON() ([]byte, error) { return []byte(`"json"`), nil }

// MarshalText is called through an encoding.TextMarshaler slot.
func (exBoth) MarshalText() ([]byte, error) { return []byte("text"), nil }

// TestAppendJSJSONOracleExtras compares corner cases of the Go rules with encoding/json.
func TestAppendJSJSONOracleExtras(t *testing.T) {
	s, n, pi := "s<", json.Number("-1.5e3"), new(int)
	ppi := &pi
	mi := MyInt(3)
	tags := reflect.New(reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"a!#$%&()*+-./:;<=>?@[]^_{|}~ b"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: "json:\"a'b\""},
		{Name: "C", Type: reflect.TypeFor[int](), Tag: "json:\"a`b\""},
		{Name: "D", Type: reflect.TypeFor[int](), Tag: "json:\"é世1\""},
		{Name: "E", Type: reflect.TypeFor[int](), Tag: "json:\"a\tb\""},
		{Name: "F", Type: reflect.TypeFor[int](), Tag: `json:",omitempty,string"`},
		{Name: "G", Type: reflect.TypeFor[int](), Tag: `json:"g,unknown,omitempty"`},
	})).Elem().Interface()
	for i, v := range []any{
		struct {
			exA
			exB
		}{},
		struct {
			exA2
			exB2
		}{},
		exRec{exRec: &exRec{X: 2}, X: 1},
		tags,
		struct{ *MyInt }{&mi},
		struct{ *MyInt }{},
		map[uintptr]int{3: 1, 20: 2},
		map[exStrKey]int{"b": 1, "a": 2},
		map[MyString]int{"b": 1, "a": 2},
		[]exByte{1, 2},
		exBytes{1, 2},
		[]exTByte{'a', 'b'},
		struct{ A, B any }{exBoth{}, &exBoth{}},
		struct {
			J json.Marshaler
			T encoding.TextMarshaler
		}{exBoth{}, exBoth{}},
		exTimeEmb{X: 1},
		&struct {
			S  *string      `json:",string"`
			PP **int        `json:",string"`
			N  json.Number  `json:",string"`
			NP *json.Number `json:",string"`
			M  MyString     `json:",string"`
			A  any          `json:",string"`
			T  textKey      `json:",string"`
		}{&s, ppi, n, &n, "m", 1, textKey{"a", "b"}},
		struct {
			C chan int `json:",omitzero"`
			c chan int
			F func()
		}{F: nil},
		[]chan int{},
		struct {
			C chan int `json:",omitempty"`
		}{},
		map[string]func(){},
		(*chan int)(nil),
		struct{ P *PEmbA }{},
		&struct{ B []byte }{[]byte{}},
		[]any{json.RawMessage(`"\u2028"`), json.RawMessage(" \"a\u2028<\xff\" ")},
	} {
		want, werr := stdJSON(v)
		got, gerr := jsJSON(v)
		if (werr != nil) != (gerr != nil) || got != want {
			t.Errorf("%d: %T\n got: %s %v\nwant: %s %v", i, v, got, gerr, want, werr)
		}
	}
}

// TestAppendJSJSONMaxDepth checks a deliberate difference: acyclic values
// nested deeper than jsMaxDepth fail (encoding/json would recurse on).
func TestAppendJSJSONMaxDepth(t *testing.T) {
	var head *node
	for range jsMaxDepth + 1 {
		head = &node{Name: "n", Next: head}
	}
	_, err := jsJSON(head)
	if err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("err = %v, want a nesting error", err)
	}
	if _, err := jsJSON(head.Next); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}
