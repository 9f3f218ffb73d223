package nodeipc

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/nodeipc/jsvalue"
)

// Every value captured from real Node survives advanced -> JSON view ->
// advanced, except cycles, which JSON cannot hold.
func TestJSONViewRoundTripsNodeFixtures(t *testing.T) {
	n := 0
	for version, values := range v8Fixtures(t) {
		for name, payload := range values {
			m := &Message{data: payload, mode: Advanced}
			text, err := m.AppendJSON(nil)
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
				t.Fatalf("%s/%s: ValueFromJSON(%s): %v", version, name, text, err)
			}
			orig := mustDecode(t, payload)
			if name == "float16array" {
				if !sameV8(back, orig) {
					t.Errorf("%s/%s: %#v; want %#v", version, name, back, orig)
				}
				continue
			}
			enc, err := appendV8(nil, back)
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
		payload, err := appendV8(nil, tt.v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&Message{data: payload, mode: Advanced}).AppendJSON(nil)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendJSON(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
	for _, bad := range []string{`{"$js":"number","value":"1"}`, `{"$js":"nope"}`, `{"$js":"Buffer","base64":"*"}`, `{"$js":"Map","entries":[[1]]}`, `{`} {
		if _, err := jsvalue.FromJSON([]byte(bad)); !errors.Is(err, jsvalue.ErrInvalidJSON) {
			t.Errorf("ValueFromJSON(%s) = %v; want ErrInvalidJSON", bad, err)
		}
	}
}

// FuzzJSONView feeds arbitrary text to ValueFromJSON and arbitrary payloads
// to AppendJSON: no panic, and whatever is accepted must hold together.
func FuzzJSONView(f *testing.F) {
	f.Add([]byte(`{"$js":"Map","entries":[[1,{"$js":"Set","values":[{"$js":"bigint","value":"-9"}]}]]}`))
	f.Add([]byte(`["\ud800",{"$js":"Array","length":3,"elements":{"1":{"$js":"hole"}},"props":{}}]`))
	f.Add([]byte(`{"$js":"Float64Array","data":[1,{"$js":"number","value":"NaN"}]}`))
	f.Add([]byte("\xff\x0f\x6f\x22\x01\x61\x49\x02\x7b\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := jsvalue.FromJSON(data); err == nil {
			if payload, err := appendV8(nil, v); err == nil {
				text, err := (&Message{data: payload, mode: Advanced}).AppendJSON(nil)
				if err != nil || !json.Valid(text) {
					t.Fatalf("AppendJSON of a value read from %q: %s, %v", data, text, err)
				}
			}
		} else if !errors.Is(err, jsvalue.ErrInvalidJSON) {
			t.Fatalf("ValueFromJSON(%q) = %v; want ErrInvalidJSON", data, err)
		}
		if text, err := (&Message{data: data, mode: Advanced}).AppendJSON(nil); err == nil && !json.Valid(text) {
			t.Fatalf("AppendJSON(% x) wrote invalid JSON %s", data, text)
		}
	})
}
