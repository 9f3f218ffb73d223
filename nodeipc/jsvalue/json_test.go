package jsvalue_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"

	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/v8"
)

func TestJSONViewText(t *testing.T) {
	date := time.Date(2026, 11, 27, 10, 0, 0, 5e6, time.UTC)
	tests := []struct {
		v    any
		want string
	}{
		{math.NaN(), `{"$js":"number","value":"NaN"}`},
		{math.Copysign(0, -1), `{"$js":"number","value":"-0"}`},
		{1.5, `1.5`},
		{jsvalue.Undefined{}, `{"$js":"undefined"}`},
		{big.NewInt(-12), `{"$js":"bigint","value":"-12"}`},
		{date, `{"$js":"Date","ms":1795773600005,"iso":"2026-11-27T10:00:00.005Z"}`},
		{jsvalue.InvalidDate{}, `{"$js":"Date","ms":null}`},
		{&jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: "k", Value: 1.0}}}, `{"$js":"Map","entries":[["k",1]]}`},
		{&jsvalue.Set{Values: []any{true}}, `{"$js":"Set","values":[true]}`},
		{jsvalue.Buffer("hi"), `{"$js":"Buffer","base64":"aGk="}`},
		{[]int64{-1}, `{"$js":"BigInt64Array","data":["-1"]}`},
		{map[string]any{"$js": "x"}, `{"$js":"Object","value":{"$js":"x"}}`},
		{"a\xed\xa0\x80b", `"a\ud800b"`},
		{[]any{1.0, jsvalue.Hole{}}, `[1,{"$js":"hole"}]`},
	}
	for _, tt := range tests {
		got, err := jsvalue.AppendJSON(nil, tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendJSON(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
	for _, bad := range []string{`{"$js":"number","value":"1"}`, `{"$js":"nope"}`, `{"$js":"Buffer","base64":"*"}`, `{"$js":"Map","entries":[[1]]}`, `{`} {
		if _, err := jsvalue.FromJSON([]byte(bad)); !errors.Is(err, jsvalue.ErrInvalidJSON) {
			t.Errorf("FromJSON(%s) = %v; want ErrInvalidJSON", bad, err)
		}
	}
}

// FuzzJSONView feeds arbitrary text to FromJSON and arbitrary payloads
// to AppendJSON: no panic, and whatever is accepted must hold together.
func FuzzJSONView(f *testing.F) {
	f.Add([]byte(`{"$js":"Map","entries":[[1,{"$js":"Set","values":[{"$js":"bigint","value":"-9"}]}]]}`))
	f.Add([]byte(`["\ud800",{"$js":"Array","length":3,"elements":{"1":{"$js":"hole"}},"props":{}}]`))
	f.Add([]byte(`{"$js":"Float64Array","data":[1,{"$js":"number","value":"NaN"}]}`))
	f.Add([]byte("\xff\x0f\x6f\x22\x01\x61\x49\x02\x7b\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := jsvalue.FromJSON(data); err == nil {
			if payload, err := v8.Marshal(v); err == nil {
				var back any
				if err := v8.Unmarshal(payload, &back); err != nil {
					t.Fatalf("Unmarshal(Marshal(%#v)): %v", v, err)
				}
				text, err := jsvalue.AppendJSON(nil, back)
				if err != nil || !json.Valid(text) {
					t.Fatalf("AppendJSON of a value read from %q: %s, %v", data, text, err)
				}
			}
		} else if !errors.Is(err, jsvalue.ErrInvalidJSON) {
			t.Fatalf("FromJSON(%q) = %v; want ErrInvalidJSON", data, err)
		}
		var decoded any
		if v8.Unmarshal(data, &decoded) == nil {
			if text, err := jsvalue.AppendJSON(nil, decoded); err != nil || !json.Valid(text) {
				t.Fatalf("AppendJSON of the value in % x: %s, %v", data, text, err)
			}
		}
	})
}

// TestJSONViewKeepsKeyOrder checks that the JSON view writes an *Object's
// keys in its order, at every depth and inside the tagged values, and that
// FromJSON reads them back in that order.
func TestJSONViewKeepsKeyOrder(t *testing.T) {
	m := &jsvalue.Map{}
	m.Set(obj("d", 1.0, "c", 2.0), obj("f", 1.0, "1", 2.0, "e", 3.0))
	tests := []struct {
		v    any
		want string
	}{
		{obj("b", 1.0, "2", 2.0, "a", obj("y", 1.0, "x", 2.0), "1", []any{obj("q", 1.0, "p", 2.0)}),
			`{"1":[{"q":1,"p":2}],"2":2,"b":1,"a":{"y":1,"x":2}}`},
		{m, `{"$js":"Map","entries":[[{"d":1,"c":2},{"1":2,"f":1,"e":3}]]}`},
		{&jsvalue.Array{Length: 12, Elements: map[uint32]any{10: "x", 2: "y", 9: "z"}, Props: obj("z", 1.0, "a", 2.0)},
			`{"$js":"Array","length":12,"elements":{"2":"y","9":"z","10":"x"},"props":{"z":1,"a":2}}`},
		{obj("z", 1.0, "$js", "x", "a", 2.0), `{"$js":"Object","value":{"z":1,"$js":"x","a":2}}`},
		{map[string]any{"b": 1.0, "10": 2.0, "2": 3.0}, `{"2":3,"10":2,"b":1}`},
	}
	for _, tt := range tests {
		got, err := jsvalue.AppendJSON(nil, tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendJSON = %s, %v; want %s", got, err, tt.want)
			continue
		}
		back, err := jsvalue.FromJSON(got)
		if err != nil {
			t.Errorf("FromJSON(%s) = %v", got, err)
			continue
		}
		again, err := jsvalue.AppendJSON(nil, back)
		if err != nil || string(again) != tt.want {
			t.Errorf("AppendJSON(FromJSON(%s)) = %s, %v", got, again, err)
		}
	}
}
