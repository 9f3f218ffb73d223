package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanJSON(t *testing.T) {
	valid := []string{
		`0`, `-0`, `1.5e+10`, `-1E-2`, `"a"`, `"\u00e9\n\"\\\/"`, `true`, `false`, `null`,
		` [ 1 , [ ] , { } , {"a":[{"b":null}]} ] `, "\t{\"x\":\"ß€😀\"}\r\n", `[[[[[[[[[[[[]]]]]]]]]]]]`,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
	}
	invalid := []string{
		``, ` `, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`,
		`{"a":1,}`, `{a:1}`, `"\x"`, `"\u12"`, "\"a\x01\"", `"abc`, `[1 2]`, `{"a":1}{}`, `1 2`,
		"\"\xff\"", "\"\xed\xa0\x80\"", `]`, `[}`, `{]`, strings.Repeat("[", 100),
	}
	for _, s := range valid {
		if r := Scan([]byte(s)); r.ErrAt >= 0 {
			t.Errorf("scanJSON(%.40q) failed at %d: %s", s, r.ErrAt, r.Reason)
		}
	}
	for _, s := range invalid {
		if r := Scan([]byte(s)); r.ErrAt < 0 {
			t.Errorf("scanJSON(%.40q) accepted invalid JSON", s)
		}
	}
	cmd := map[string]bool{
		`{"cmd":"NODE_X"}`: true, `{"a":1,"cmd":2}`: true, `{"c\u006dd":1}`: true,
		`{"a":{"cmd":1}}`: false, `[{"cmd":1}]`: false, `{"Cmd":1}`: false, `"cmd"`: false,
	}
	for s, want := range cmd {
		if r := Scan([]byte(s)); r.ErrAt >= 0 || r.Cmd != want {
			t.Errorf("scanJSON(%s) = %+v; want cmd=%v", s, r, want)
		}
	}
}

// FuzzScanJSON checks scanJSON against encoding/json and utf8.Valid.
func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":"c"}]}`, `"\ud800"`, `-0.5e+7`, "\"\xc3\xa9\"", `[[],{}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b) && utf8.Valid(b)
		if got := Scan(b).ErrAt < 0; got != want {
			t.Fatalf("scanJSON(%q) valid=%v; encoding/json+utf8 say %v", b, got, want)
		}
	})
}

func TestPlainASCII8(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
		for pos := range 8 {
			var b [8]byte
			for i := range b {
				b[i] = 'a'
			}
			b[pos] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			if got := plainASCII8(w); got != want {
				t.Fatalf("plainASCII8 with byte %#x at %d = %v; want %v", c, pos, got, want)
			}
		}
	}
}

func TestScanJSONNamesInvalidUTF8(t *testing.T) {
	for _, s := range []string{"\"a\xffb\"", "[1,\xfe]", "{\"k\xc3\":1}"} {
		r := Scan([]byte(s))
		if r.ErrAt < 0 || r.Reason != "invalid UTF-8" {
			t.Errorf("scanJSON(%q) = %+v; want invalid UTF-8", s, r)
		}
	}
}

// FuzzScanJSONSameAsReference checks that scanJSON gives the reference
// scanner's answer, error offset and reason included, for any input.
func FuzzScanJSONSameAsReference(f *testing.F) {
	for _, s := range []string{
		`{"cmd":"NODE_X","a":[1,2.5e3,-0,true,false,null,{"b":"\u00e9\n"}]}`,
		` [ ] `, `{"a" : 1 , "c\u006dd":2}`, `"\ud800"`, "\"\xff\"", `{"a":}`, `[1,]`, `01`, `1.`, `-`, `nul`,
		`{"x":"abcdefghijklmnopqrstuvwxyz0123456789"}`, "\"a\x01\"", `{"a":"b"`, `[[[[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Scan(b), scanJSONRef(b)
		if got != want {
			t.Fatalf("scanJSON(%q) = %+v; reference %+v", b, got, want)
		}
	})
}
