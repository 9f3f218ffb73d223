package jsontext

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkScanJSON(b *testing.B) {
	for _, s := range []struct{ name, text string }{
		{"small", `{"id":1,"op":"echo","payload":"xxxxxxxxxxxxxxxxxxxx"}`},
		{"medium", mediumText()},
	} {
		b.Run(s.name, func(b *testing.B) {
			data := []byte(s.text)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if r := Scan(data); r.ErrAt >= 0 {
					b.Fatal(r.Reason)
				}
			}
		})
	}
}

// mediumText is the benchmarks' medium message (a nested object of about
// 1 KB) as JSON text.
func mediumText() string {
	var b strings.Builder
	b.WriteString(`{"id":42,"op":"list","users":[`)
	for i := range 8 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"User Number %c","email":"user%c@example.com","active":%t,"score":%g,"tags":["alpha","beta","gamma"]}`,
			1000+i, 'A'+i, 'a'+i, i%2 == 0, float64(i)*1.25)
	}
	b.WriteString(`],"meta":{"page":1,"total":1234,"region":"eu-west-1","version":"v1.2.3"},"cursor":"eyJwYWdlIjoyfQ=="}`)
	return b.String()
}

func BenchmarkScanJSONLargeString(b *testing.B) {
	data := []byte(`{"id":1,"op":"echo","payload":"` + strings.Repeat("abcdefghij", 1<<20/10) + `"}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if r := Scan(data); r.ErrAt >= 0 {
			b.Fatal(r.Reason)
		}
	}
}

// BenchmarkParseNumber parses the numbers of the benchmark suite's medium
// message: integers and short decimals.
func BenchmarkParseNumber(b *testing.B) {
	nums := [][]byte{[]byte("1"), []byte("4242"), []byte("12.5"), []byte("25"), []byte("37.5"), []byte("0.875"), []byte("-3.25")}
	for b.Loop() {
		for _, n := range nums {
			if f := ParseNumber(n); f != f {
				b.Fatal("NaN")
			}
		}
	}
}
