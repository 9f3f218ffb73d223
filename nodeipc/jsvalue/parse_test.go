package jsvalue_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc/jsvalue"
)

// TestParseJSON checks ParseJSON against what JSON.parse followed by
// JSON.stringify gives in Node (written out by hand here; the
// TestParseJSONMatchesNode test asks Node itself).
func TestParseJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":2,"z":{"y":1,"x":2}}`, `{"b":1,"a":2,"z":{"y":1,"x":2}}`},
		{`{"b":1,"a":2,"b":3,"2":4,"1":5}`, `{"1":5,"2":4,"b":3,"a":2}`},
		{`[{"10":0,"9":1,"x":2,"01":3},[{"q":1,"p":2}]]`, `[{"9":1,"10":0,"x":2,"01":3},[{"q":1,"p":2}]]`},
		{` { "a" : [ 1 , -0 , 1e999, -1e999, 0.5e-7, 123456789012345678901 ] } `, `{"a":[1,0,null,null,5e-8,123456789012345680000]}`},
		{`"\ud800\u00e9\/\ud83d\ude00"`, `"\ud800é/😀"`},
		{`{"\u0063md":"x","":1,"__proto__":2}`, `{"cmd":"x","":1,"__proto__":2}`},
		{`[true,false,null,"",[],{}]`, `[true,false,null,"",[],{}]`},
		// Strings with escapes are decoded in the copy of the text, where
		// they were: their neighbours keep their own bytes.
		{`{"k\"ey":"a\\b\nc","plain":"v","\u00e9t\u00e9":["x\ty","\ud83d\ude00!","",  "\/"],"n":1.25}`,
			`{"k\"ey":"a\\b\nc","plain":"v","été":["x\ty","😀!","","/"],"n":1.25}`},
	}
	for _, tt := range tests {
		v, err := jsvalue.ParseJSON([]byte(tt.in))
		if err != nil {
			t.Errorf("ParseJSON(%s) = %v", tt.in, err)
			continue
		}
		got, err := jsvalue.AppendStringify(nil, v)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendStringify(ParseJSON(%s)) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if v, _ := jsvalue.ParseJSON([]byte(`-0`)); !math.Signbit(v.(float64)) {
		t.Errorf("ParseJSON(-0) = %v; want -0", v)
	}
	if v, _ := jsvalue.ParseJSON([]byte(`"\udc00"`)); v != "\xed\xb0\x80" {
		t.Errorf("ParseJSON of a lone low surrogate = %q; want its WTF-8 form", v)
	}
	for _, bad := range []string{
		``, ` `, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `[1 2]`, `01`, `1.`, `-`, `+1`, `.5`, `NaN`, `tru`, `nul`,
		`"\x"`, `"a` + "\x01" + `"`, "\"\xff\"", `{"a":1}x`, `{1:2}`, `'a'`, `"\u12"`, `[`, `]`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		if v, err := jsvalue.ParseJSON([]byte(bad)); !errors.Is(err, jsvalue.ErrInvalidJSON) {
			t.Errorf("ParseJSON(%.40q) = %v, %v; want ErrInvalidJSON", bad, v, err)
		}
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := jsvalue.ParseJSON([]byte(deep)); err != nil {
		t.Errorf("ParseJSON of 10,000 levels = %v", err)
	}
}

// TestAppendStringify checks JSON.stringify's rules for the values that
// JSON itself has no word for, and for cycles.
func TestAppendStringify(t *testing.T) {
	o := obj("u", jsvalue.Undefined{}, "n", math.NaN(), "z", math.Copysign(0, -1), "i", math.Inf(-1),
		"a", []any{jsvalue.Undefined{}, jsvalue.Hole{}, 1.5}, "m", map[string]any{"y": 1, "x": 2}, "s", struct {
			A int `json:"a"`
		}{1})
	got, err := jsvalue.AppendStringify([]byte("x"), o)
	want := `x{"n":null,"z":0,"i":null,"a":[null,null,1.5],"m":{"x":2,"y":1},"s":{"a":1}}`
	if err != nil || string(got) != want {
		t.Errorf("AppendStringify = %s, %v; want %s", got, err, want)
	}
	// An *Object inside a Go value keeps its order through MarshalJSON.
	b, err := json.Marshal(map[string]any{"o": obj("b", 1, "a", 2)})
	if err != nil || string(b) != `{"o":{"b":1,"a":2}}` {
		t.Errorf("json.Marshal of an *Object inside a map = %s, %v", b, err)
	}
	var back struct {
		O *jsvalue.Object `json:"o"`
	}
	if err := json.Unmarshal(b, &back); err != nil || !slices2(keys(back.O), "b", "a") {
		t.Errorf("json.Unmarshal into an *Object field = %v, %v", back.O, err)
	}
	if err := json.Unmarshal([]byte(`{"o":[1]}`), &back); err == nil {
		t.Error("json.Unmarshal of an array into an *Object succeeded")
	}
	// Cycles are errors, as in JSON.stringify, at any depth.
	cyc := obj()
	cyc.Set("self", cyc)
	deep := obj("leaf", cyc)
	for range 100 {
		deep = obj("d", deep)
	}
	list := []any{nil}
	list[0] = list
	for _, v := range []any{cyc, deep, list} {
		if out, err := jsvalue.AppendStringify([]byte("x"), v); err == nil || string(out) != "x" {
			t.Errorf("AppendStringify of a cycle = %.40s, %v; want an error and dst unchanged", out, err)
		}
	}
	// Shared, not cyclic: fine.
	shared := obj("k", 1)
	if out, err := jsvalue.AppendStringify(nil, []any{shared, shared}); err != nil || string(out) != `[{"k":1},{"k":1}]` {
		t.Errorf("AppendStringify of a shared object = %s, %v", out, err)
	}
}

func slices2(got []string, want ...string) bool { return reflect.DeepEqual(got, want) }

// obj builds an *Object from keys and values, set in the order given.
func obj(kv ...any) *jsvalue.Object {
	o := &jsvalue.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// TestParseJSONMatchesNode asks real Node, for texts chosen to exercise
// key order, duplicates, numbers and escapes, what JSON.stringify of
// JSON.parse gives, and compares ParseJSON and AppendStringify with it
// (after Node has read both back, since Node writes U+2028 unescaped).
func TestParseJSONMatchesNode(t *testing.T) {
	texts := []string{
		`{"b":1,"a":2,"b":3,"2":4,"1":5,"4294967295":6,"4294967294":7,"-1":8,"01":9}`,
		`[{"z":{"10":1,"9":2,"y":[{"b":1,"a":2}]}}, {"":0,"__proto__":{"x":1}}]`,
		`[1e21,1e-7,123456789012345678,0.1,-0,5e-324,1.7976931348623157e308,1e400]`,
		`["\u2028\u2029","\ud800","\udfff\ud800","\u0000\u001f","é€😀"]`,
	}
	node := nodetest.System(t)
	script := `const rl = require('readline').createInterface({input: process.stdin});
rl.on('line', (l) => { const [text, ours] = JSON.parse(l);
  const want = JSON.stringify(JSON.parse(text)), got = JSON.stringify(JSON.parse(ours));
  console.log(want === got ? 'same' : 'DIFF ' + want + ' vs ' + got); });`
	var in bytes.Buffer
	for _, text := range texts {
		v, err := jsvalue.ParseJSON([]byte(text))
		if err != nil {
			t.Fatalf("ParseJSON(%s) = %v", text, err)
		}
		ours, err := jsvalue.AppendStringify(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal([]string{text, string(ours)})
		in.Write(append(line, '\n'))
	}
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("node answered %q", out)
	}
	for i, l := range lines {
		if l != "same" {
			t.Errorf("%s: %s", texts[i], l)
		}
	}
}

// FuzzParseJSON checks ParseJSON against the scanner the channel validates
// with: it accepts exactly the texts jsontext.Check accepts (up to its
// nesting bound), never panics, and what it reads survives
// AppendStringify and ParseJSON again unchanged.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":2,"b":3,"2":4,"1":5}`, `[{"10":0,"9":1},[],{}]`, `"\ud800\u00e9"`, `-0`, `1e999`,
		`{"a":[1,2,{"c":null}],"d":true}`, `[1,`, `{"a" 1}`, "\"\xff\"", `{"k":"v","k":{"k":[]}}`,
		`{"p":1,"o":2,"n":3,"m":4,"l":5,"k":6,"j":7,"i":8,"h":9,"g":10,"f":11,"e":12,"d":13,"c":14,"b":15,"a":16,"9":17,"b":18}`,
	} {
		f.Add([]byte(s))
	}
	var reused jsvalue.Parser // parses every input after the others
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsvalue.ParseJSON(data)
		checkErr := jsontext.Check(data)
		// A Parser gives what ParseJSON gives, whatever it parsed before.
		rv, rerr := reused.Parse(data)
		if errString(rerr) != errString(err) || !reflect.DeepEqual(rv, v) {
			t.Fatalf("Parser.Parse(%q) = %v, %v; ParseJSON gives %v, %v", data, rv, rerr, v, err)
		}
		if (err == nil) != (checkErr == nil) && !strings.Contains(errString(err), "nested more than") {
			t.Fatalf("ParseJSON(%q) = %v; the scanner says %v", data, err, checkErr)
		}
		if err != nil {
			if !errors.Is(err, jsvalue.ErrInvalidJSON) {
				t.Fatalf("ParseJSON(%q) = %v; want ErrInvalidJSON", data, err)
			}
			return
		}
		text, err := jsvalue.AppendStringify(nil, v)
		if err != nil {
			t.Fatalf("AppendStringify(ParseJSON(%q)) = %v", data, err)
		}
		again, err := jsvalue.ParseJSON(text)
		if err != nil {
			t.Fatalf("ParseJSON(%s) (written by AppendStringify) = %v", text, err)
		}
		text2, _ := jsvalue.AppendStringify(nil, again)
		if !bytes.Equal(text, text2) {
			t.Fatalf("not stable: %s then %s", text, text2)
		}
		if o, ok := v.(*jsvalue.Object); ok {
			// The order is JavaScript's: indices first, ascending.
			last, inIndices := int64(-1), true
			for k := range o.Keys() {
				n, isIndex := jsvalue.ArrayIndex(k)
				if isIndex && (!inIndices || int64(n) <= last) {
					t.Fatalf("keys of %q out of order: %q", data, keys(o))
				}
				if isIndex {
					last = int64(n)
				} else {
					inIndices = false
				}
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestParseJSONValuesSurviveGC keeps values from many parses (strings and
// numbers live in shared per-message memory) while the collector runs,
// and checks that each still reads as it was parsed.
func TestParseJSONValuesSurviveGC(t *testing.T) {
	var kept []any
	var texts []string
	for i := range 2000 {
		text := fmt.Sprintf(`{"i":%d,"s":"value %d","f":%d.5,"a":[%d,"x%d",{"k":"v%d"}],"e":"\u00e9%d"}`, i, i, i, i, i, i, i)
		v, err := jsvalue.ParseJSON([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		// Keep only a part of some messages: the rest must stay alive.
		switch i % 3 {
		case 0:
			kept = append(kept, v)
		case 1:
			a, _ := v.(*jsvalue.Object).Get("a")
			kept = append(kept, a)
		case 2:
			s, _ := v.(*jsvalue.Object).Get("e")
			kept = append(kept, s)
		}
		texts = append(texts, text)
		if i%500 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	for i, v := range kept {
		want, _ := jsvalue.ParseJSON([]byte(texts[i]))
		switch i % 3 {
		case 1:
			want, _ = want.(*jsvalue.Object).Get("a")
		case 2:
			want, _ = want.(*jsvalue.Object).Get("e")
		}
		got, err1 := jsvalue.AppendStringify(nil, v)
		exp, err2 := jsvalue.AppendStringify(nil, want)
		if err1 != nil || err2 != nil || !bytes.Equal(got, exp) {
			t.Fatalf("value %d after GC = %s; want %s", i, got, exp)
		}
	}
}

// TestParserReusesItsMemory parses texts of one shape with one Parser:
// after the first, a text costs no allocation, and each value is right
// until the next Parse, whose values take the same memory.
func TestParserReusesItsMemory(t *testing.T) {
	var p jsvalue.Parser
	text := func(i int) []byte {
		return fmt.Appendf(nil, `{"i":%d,"s":"value %d","f":%d.5,"a":[%d,"x%d",{"k":"v\u00e9%d"}],"e":[],"o":{}}`, i, i, i, i, i, i)
	}
	check := func(i int, v any) {
		t.Helper()
		got, err := jsvalue.AppendStringify(nil, v)
		want, _ := jsvalue.AppendStringify(nil, mustParse(t, text(i)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("text %d: Parse gave %s (%v); want %s", i, got, err, want)
		}
	}
	var texts [][]byte
	for i := range 10 {
		texts = append(texts, text(i))
	}
	var prev *jsvalue.Object
	for i := range 10 {
		v, err := p.Parse(texts[i])
		if err != nil {
			t.Fatal(err)
		}
		check(i, v)
		// The first text sizes the memory; from the third on, each
		// text's values take the memory of the one before.
		o := v.(*jsvalue.Object)
		if i >= 2 && o != prev {
			t.Errorf("text %d: its object is not in the memory of the text before", i)
		}
		prev = o
	}
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		if _, err := p.Parse(texts[i%10]); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Errorf("a text of the same shape: %v allocations", n)
	}

	// A failed text leaves the Parser fine for the next.
	if _, err := p.Parse([]byte(`{"a":[1,2`)); !errors.Is(err, jsvalue.ErrInvalidJSON) {
		t.Fatalf("Parse of a truncated text = %v", err)
	}
	v, err := p.Parse(text(7))
	if err != nil {
		t.Fatal(err)
	}
	check(7, v)

	// A text beyond what the Parser keeps, and a small one after it.
	big := fmt.Appendf(nil, `[%s0]`, strings.Repeat(`{"k":"v","n":[1,2,3]},`, 20000))
	if v, err := p.Parse(big); err != nil || len(v.([]any)) != 20001 {
		t.Fatalf("Parse of a big text = %d elements, %v", len(v.([]any)), err)
	}
	v, _ = p.Parse(text(8))
	check(8, v)
}

// TestParserValuesSurviveGC: a Parser's memory is ordinary Go memory, so
// a value stays right (until the next Parse) while the collector runs,
// and memory the Parser dropped stays alive for the values in it.
func TestParserValuesSurviveGC(t *testing.T) {
	var p jsvalue.Parser
	small := []byte(`{"a":"x","b":[1.5,"y"]}`)
	v, _ := p.Parse(small)
	big := fmt.Appendf(nil, `[%s"end"]`, strings.Repeat(`"a longer string, many times",`, 5000))
	kept, _ := p.Parse(big) // spills: the memory of v is dropped, kept keeps its own
	runtime.GC()
	runtime.GC()
	if a := kept.([]any); len(a) != 5001 || a[0] != "a longer string, many times" || a[5000] != "end" {
		t.Fatalf("big value after GC: %d elements, %q ... %q", len(a), a[0], a[len(a)-1])
	}
	v, _ = p.Parse(small)
	runtime.GC()
	if got, _ := jsvalue.AppendStringify(nil, v); string(got) != string(small) {
		t.Fatalf("after GC: %s", got)
	}
}

func mustParse(t *testing.T, text []byte) any {
	t.Helper()
	v, err := jsvalue.ParseJSON(text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecodeJSON(t *testing.T) {
	text := []byte(`{"b":1,"a":[{"d":1,"c":2}]}`)
	var v any
	if err := jsvalue.DecodeJSON(text, &v); err != nil || !slices2(keys(v.(*jsvalue.Object)), "b", "a") {
		t.Errorf("DecodeJSON into *any = %v, %v", v, err)
	}
	var list []any
	if err := jsvalue.DecodeJSON([]byte(`[{"d":1,"c":2},null]`), &list); err != nil || len(list) != 2 || !slices2(keys(list[0].(*jsvalue.Object)), "d", "c") {
		t.Errorf("DecodeJSON into *[]any = %v, %v", list, err)
	}
	if err := jsvalue.DecodeJSON(text, &list); !errors.Is(err, jsvalue.ErrInvalidJSON) {
		t.Errorf("DecodeJSON of an object into *[]any = %v; want ErrInvalidJSON", err)
	}
	var o jsvalue.Object
	if err := jsvalue.DecodeJSON(text, &o); err != nil || !slices2(keys(&o), "b", "a") {
		t.Errorf("DecodeJSON into *Object = %v, %v", &o, err)
	}
	var m map[string]any
	if err := jsvalue.DecodeJSON(text, &m); err != nil {
		t.Fatal(err)
	}
	if inner, ok := m["a"].([]any)[0].(map[string]any); !ok || inner["c"] != 2.0 {
		t.Errorf("DecodeJSON into a map gives maps throughout: %#v", m)
	}
	var st struct {
		B int `json:"b"`
	}
	if err := jsvalue.DecodeJSON(text, &st); err != nil || st.B != 1 {
		t.Errorf("DecodeJSON into a struct = %+v, %v", st, err)
	}
}
