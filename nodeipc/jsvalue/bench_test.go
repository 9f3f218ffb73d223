package jsvalue_test

import (
	"testing"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc/jsvalue"
)

// The benchmark suite's shapes (interop/bench): small is 53 bytes of JSON,
// medium a nested object of 978 bytes.
const (
	benchSmall  = `{"id":1,"op":"echo","payload":"xxxxxxxxxxxxxxxxxxxx"}`
	benchMedium = `{"id":1,"op":"echo","user":{"id":4242,"name":"Ada Lovelace","email":"ada@example.com","active":true,"roles":["admin","editor","viewer"],"address":{"street":"12 Analytical Engine Road","city":"London","zip":"NW1 6XE","country":"GB"}},"items":[{"sku":"SKU-AAAAAA","name":"Widget number 1 deluxe edition","qty":1,"price":12.5,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-BBBBBB","name":"Widget number 2 deluxe edition","qty":2,"price":25,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-CCCCCC","name":"Widget number 3 deluxe edition","qty":3,"price":37.5,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-DDDDDD","name":"Widget number 4 deluxe edition","qty":4,"price":50,"attrs":["color:blue","size:m","stock:yes"]}],"tags":["priority","express","gift","fragile","insured"],"meta":{"trace":"0af7651916cd43dd8448eb211c80319c","created":"2026-11-27T12:00:00.000Z","retries":2,"score":0.875,"source":"benchmark-suite/medium-shape/nested-object-example1"}}`
)

func benchParse(b *testing.B, text string) {
	data := []byte(text)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jsvalue.ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStringify(b *testing.B, text string) {
	v, err := jsvalue.ParseJSON([]byte(text))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		if buf, err = jsvalue.AppendStringify(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRoundTrip decodes text into an any and encodes it back into a
// reused buffer, with a newline after it as a frame has, and checks that
// the last round trip gave text back if same is set.
func benchRoundTrip(b *testing.B, text string, same bool, decode func([]byte, any) error, encode func([]byte, any) ([]byte, error)) {
	data := []byte(text)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var v any
		if err := decode(data, &v); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = encode(buf[:0], v); err != nil {
			b.Fatal(err)
		}
		buf = append(buf, '\n')
	}
	if same && string(buf[:len(buf)-1]) != text {
		b.Fatalf("round trip = %s; want %s", buf, text)
	}
}

// benchMap is the alternative that loses key order: encoding/json's rules
// into a map[string]any, and back.
func benchMap(b *testing.B, text string) {
	benchRoundTrip(b, text, false, jsontext.Unmarshal, jsontext.Append)
}

// benchEcho is the untyped echo of the benchmark suite's go-any child in
// one process, without the channel: the message decoded into an any as
// Message.Decode does in json mode (DecodeJSON), and written back as
// Channel.Send writes it (AppendStringify and the frame's newline).
func benchEcho(b *testing.B, text string) {
	benchRoundTrip(b, text, true, jsvalue.DecodeJSON, jsvalue.AppendStringify)
}

func BenchmarkParseJSONSmall(b *testing.B)       { benchParse(b, benchSmall) }
func BenchmarkParseJSONMedium(b *testing.B)      { benchParse(b, benchMedium) }
func BenchmarkAppendStringifySmall(b *testing.B) { benchStringify(b, benchSmall) }
func BenchmarkAppendStringifyMedium(b *testing.B) {
	benchStringify(b, benchMedium)
}
func BenchmarkMapRoundTripSmall(b *testing.B)  { benchMap(b, benchSmall) }
func BenchmarkMapRoundTripMedium(b *testing.B) { benchMap(b, benchMedium) }

func BenchmarkScanMedium(b *testing.B) {
	data := []byte(benchMedium)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if jsontext.Scan(data).ErrAt >= 0 {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkEchoAnySmall(b *testing.B)  { benchEcho(b, benchSmall) }
func BenchmarkEchoAnyMedium(b *testing.B) { benchEcho(b, benchMedium) }

// benchParser is benchParse with one Parser, whose memory each text
// reuses.
func benchParser(b *testing.B, text string) {
	data := []byte(text)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p jsvalue.Parser
	for b.Loop() {
		if _, err := p.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParserSmall(b *testing.B)  { benchParser(b, benchSmall) }
func BenchmarkParserMedium(b *testing.B) { benchParser(b, benchMedium) }
