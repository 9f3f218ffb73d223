package jsontext

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"unicode/utf8"
)

// TestAppendStringInvalidUTF8 pins what the one JSON string escaper writes
// for strings that are not valid UTF-8: a lone surrogate in WTF-8 form as
// JSON.stringify writes a lone surrogate (\udXXX), every other invalid byte
// as \ufffd.
func TestAppendStringInvalidUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\xed\xa0\x80", `"\ud800"`},                   // lone high surrogate
		{"a\xed\xb0\x80", `"a\udc00"`},                 // lone low surrogate
		{"\xed\xbf\xbfz", `"\udfffz"`},                 // the last surrogate
		{"\xed\xa0\xbd\xed\xb8\x80", `"\ud83d\ude00"`}, // a pair in WTF-8 (CESU-8) stays two escapes
		{"\xed\x9f\xbf", `"` + "\ud7ff" + `"`},         // U+D7FF is valid UTF-8
		{"\xed\xa0", `"\ufffd\ufffd"`},                 // truncated: each byte
		{"\xff", `"\ufffd"`},
		{"a\xc3", `"a\ufffd"`},
		{"\xe2\x80", `"\ufffd\ufffd"`},
		{"\xc0\xaf", `"\ufffd\ufffd"`},   // overlong
		{"\ufffd", `"` + "\ufffd" + `"`}, // a real U+FFFD is written as it is
	}
	for _, tt := range tests {
		got := string(AppendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendString(%q) = %s; want %s", tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) || !json.Valid([]byte(got)) {
			t.Errorf("AppendString(%q) = %q: not valid UTF-8 JSON", tt.in, got)
		}
	}
}

// TestAppendStringEscapes pins the escapes of valid strings:
// JSON.stringify's, with U+2028 and U+2029 escaped as the fast encoder does.
func TestAppendStringEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain <&> /", `"plain <&> /"`},
		{"\"\\", `"\"\\"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"é世😀", `"é世😀"`},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// TestAppendStringMatchesFastEncoder checks that the fast encoder and the
// fallback write valid strings, and invalid bytes other than WTF-8
// surrogates, byte for byte alike.
func TestAppendStringMatchesFastEncoder(t *testing.T) {
	for _, s := range []string{"a<b>&c", "\x00\b\f\n\r\t\x1f\"\\", "\u2028x\u2029", "é世😀", "\xff\xc3(", "\xe2\x80"} {
		fast, err := Append(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendString(nil, s)); got != string(fast) {
			t.Errorf("AppendString(%q) = %s; the fast encoder writes %s", s, got, fast)
		}
	}
}

// TestUnquoteKeepsLoneSurrogates checks that AppendUnquoted reads back
// what AppendString writes, lone surrogates included.
func TestUnquoteKeepsLoneSurrogates(t *testing.T) {
	for _, s := range []string{"\xed\xa0\x80lone", "a\xed\xb0\x80", "pair 😀", "\x00\b\f\n\r\t\x1f\"\\/\u2028", "plain", ""} {
		q := AppendString(nil, s)
		end, escaped, ok := ScanString(q, 0)
		if wantEsc := bytes.IndexByte(q, '\\') >= 0; !ok || end != len(q) || escaped != wantEsc {
			t.Fatalf("ScanString(%s) = %d, %v, %v; want %d, %v, true", q, end, escaped, ok, len(q), wantEsc)
		}
		if !escaped && string(q[1:len(q)-1]) != s {
			t.Errorf("ScanString(%s) says no escapes, but the value is %q", q, s)
		}
		if got := string(AppendUnquoted(nil, q)); got != s {
			t.Errorf("AppendUnquoted(%s) = %q; want %q", q, got, s)
		}
	}
	if got := string(AppendUnquoted(nil, []byte(`"\u00e9\uD83D\uDE00\/"`))); got != "é😀/" {
		t.Errorf("AppendUnquoted of escapes = %q", got)
	}
}

func TestParseNumber(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
	}{
		{"0", 0}, {"-0", math.Copysign(0, -1)}, {"123456789012345", 123456789012345}, {"-7", -7},
		{"1234567890123456789", 1234567890123456789}, {"1.5e3", 1500}, {"1e999", math.Inf(1)}, {"-1e999", math.Inf(-1)}, {"0.1", 0.1},
		{"12.5", 12.5}, {"-0.875", -0.875}, {"-0.0", math.Copysign(0, -1)}, {"0.000000000000001", 1e-15}, {"3.14159265358979", 3.14159265358979},
		{"0.30000000000000004", 0.30000000000000004}, {"1234567890.12345", 1234567890.12345}, {"9007199254740993", 9007199254740992},
	} {
		end, ok := ScanNumber([]byte(tt.in), 0)
		got := ParseNumber([]byte(tt.in))
		if !ok || end != len(tt.in) || math.Float64bits(got) != math.Float64bits(tt.want) {
			t.Errorf("ScanNumber, ParseNumber(%s) = %d %v, %v; want %v", tt.in, end, ok, got, tt.want)
		}
	}
}

// TestParseNumberMatchesParseFloat checks ParseNumber's fast path against
// strconv on decimals of every length it takes, and a little beyond.
func TestParseNumberMatchesParseFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		digits := make([]byte, 1+r.IntN(17))
		for i := range digits {
			digits[i] = byte('0' + r.IntN(10))
		}
		s := string(digits)
		if p := r.IntN(len(digits) + 1); p > 0 && p < len(digits) {
			s = s[:p] + "." + s[p:]
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		if end, ok := ScanNumber([]byte(s), 0); !ok || end != len(s) {
			continue // a leading zero
		}
		want, _ := strconv.ParseFloat(s, 64)
		if got := ParseNumber([]byte(s)); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("ParseNumber(%s) = %v; want %v", s, got, want)
		}
	}
}
