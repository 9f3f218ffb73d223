package nodeipc

import (
	"encoding/json"
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
				if r := scanJSON(data); r.errAt >= 0 {
					b.Fatal(r.reason)
				}
			}
		})
	}
}

// mediumText is the V8 benchmarks' medium value as JSON text.
func mediumText() string {
	b, err := json.Marshal(benchMediumValue())
	if err != nil {
		panic(err)
	}
	return string(b)
}

func BenchmarkScanJSONLargeString(b *testing.B) {
	data := []byte(`{"id":1,"op":"echo","payload":"` + strings.Repeat("abcdefghij", 1<<20/10) + `"}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if r := scanJSON(data); r.errAt >= 0 {
			b.Fatal(r.reason)
		}
	}
}
