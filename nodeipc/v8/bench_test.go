package v8

import (
	"strings"
	"testing"
)

// Benchmark shapes, as in the performance anchors: small is the ping
// message, medium a nested object of about 1 KB, large a 1 MiB string.

type benchSmall struct {
	ID      int    `json:"id"`
	Op      string `json:"op"`
	Payload string `json:"payload"`
}

type benchUser struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Active bool     `json:"active"`
	Score  float64  `json:"score"`
	Tags   []string `json:"tags"`
}

type benchMedium struct {
	ID     int         `json:"id"`
	Op     string      `json:"op"`
	Users  []benchUser `json:"users"`
	Meta   benchMeta   `json:"meta"`
	Cursor string      `json:"cursor"`
}

type benchMeta struct {
	Page    int    `json:"page"`
	Total   int    `json:"total"`
	Region  string `json:"region"`
	Version string `json:"version"`
}

func benchSmallValue() benchSmall { return benchSmall{ID: 1, Op: "echo", Payload: "x"} }

func benchMediumValue() benchMedium {
	m := benchMedium{ID: 42, Op: "list", Cursor: "eyJwYWdlIjoyfQ==",
		Meta: benchMeta{Page: 1, Total: 1234, Region: "eu-west-1", Version: "v1.2.3"}}
	for i := range 8 {
		m.Users = append(m.Users, benchUser{ID: 1000 + i, Name: "User Number " + string(rune('A'+i)),
			Email: "user" + string(rune('a'+i)) + "@example.com", Active: i%2 == 0, Score: float64(i) * 1.25,
			Tags: []string{"alpha", "beta", "gamma"}})
	}
	return m
}

// toAny converts a benchmark value to its generic form via the codec.
func toAny(b *testing.B, v any) any {
	p, err := Append(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	var out any
	if err := Unmarshal(p, &out); err != nil {
		b.Fatal(err)
	}
	return out
}

func benchEncode(b *testing.B, v any) {
	buf, err := Append(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = Append(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode[T any](b *testing.B, v any) {
	p, err := Append(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		var out T
		if err := Unmarshal(p, &out); err != nil {
			b.Fatal(err)
		}
	}
}

var largeString = strings.Repeat("x", 1<<20)

func BenchmarkV8EncodeSmallStruct(b *testing.B)  { benchEncode(b, benchSmallValue()) }
func BenchmarkV8EncodeSmallAny(b *testing.B)     { benchEncode(b, toAny(b, benchSmallValue())) }
func BenchmarkV8EncodeMediumStruct(b *testing.B) { benchEncode(b, benchMediumValue()) }
func BenchmarkV8EncodeMediumAny(b *testing.B)    { benchEncode(b, toAny(b, benchMediumValue())) }
func BenchmarkV8EncodeLarge(b *testing.B)        { benchEncode(b, largeString) }

func BenchmarkV8DecodeSmallStruct(b *testing.B)  { benchDecode[benchSmall](b, benchSmallValue()) }
func BenchmarkV8DecodeSmallAny(b *testing.B)     { benchDecode[any](b, benchSmallValue()) }
func BenchmarkV8DecodeMediumStruct(b *testing.B) { benchDecode[benchMedium](b, benchMediumValue()) }
func BenchmarkV8DecodeMediumAny(b *testing.B)    { benchDecode[any](b, benchMediumValue()) }
func BenchmarkV8DecodeLarge(b *testing.B)        { benchDecode[string](b, largeString) }

func BenchmarkAppendStringProperty(b *testing.B) {
	// The medium shape with a "cmd" property, last and not internal, so
	// the whole message is walked.
	type withCmd struct {
		benchMedium
		Cmd string `json:"cmd"`
	}
	p, err := Append(nil, withCmd{benchMediumValue(), "user"})
	if err != nil {
		b.Fatal(err)
	}
	var buf [16]byte
	if got, ok := AppendStringProperty(buf[:0], p, "cmd"); !ok || string(got) != "user" {
		b.Fatalf("AppendStringProperty = %q, %v", got, ok)
	}
	b.ReportAllocs()
	for b.Loop() {
		AppendStringProperty(buf[:0], p, "cmd")
	}
}
