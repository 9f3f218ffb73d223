package pool

import (
	"reflect"
	"testing"

	"nodeipc.dev/internal/jsontext"
)

// envelopeSamples are messages of the workerpool dialect, as Node, Serve
// and Pool write them, and odd ones the fast path must leave to the
// decoder.
var envelopeSamples = []string{
	`{"id":1,"method":"add","params":[2,3]}`,
	`{"id":12,"method":"echo","params":[{"id":12,"op":"echo","payload":"xx"}]}`,
	`{"id":"s7","method":"add","params":[1]}`,
	`{"id":3,"method":"methods","params":[]}`,
	`{"id":6,"method":"plainfail"}`,
	`{"id":10,"method":"__workerpool-cleanup__"}`,
	`{"id":10,"method":"__workerpool-cleanup__","error":null}`,
	`{"id":1,"result":5,"error":null}`,
	`{"id":4,"result":null,"error":{"message":"Unknown method \"nope\"","name":"Error"}}`,
	`{"id":9,"isEvent":true,"payload":{"step":0}}`,
	`{"id":1,"result":[1,[2,{"a":"]}"}]],"error":null}`,
	` { "id" : 1 , "method" : "add" , "params" : [ 1 , 2 ] } `,
	`{"id":1,"method":"a\"b","params":[]}`,
	`{"ID":1,"Method":"add"}`,
	`{"i\u0064":1,"method":"add"}`,
	`{"id":1,"method":null,"params":null}`,
	`{"id":1,"method":7}`,
	`{"id":1,"isEvent":"yes"}`,
	`{"id":1,"id":2,"method":"a","method":"b","params":[1],"params":[2,3]}`,
	`{"id":1,"params":[1,2,3,4,5,6],"method":"many"}`,
	`{"other":{"x":[1,2]},"id":1}`,
	`{}`,
	`[1,2]`,
	`"ready"`,
	`{"id":1,`,
	`{"id":1}}`,
	`{"id":1,"params":[1,]}`,
}

// TestDecodeEnvelopeMatchesDecoder: whatever the fast path takes, it must
// decode as the JSON decoder does.
func TestDecodeEnvelopeMatchesDecoder(t *testing.T) {
	for _, s := range envelopeSamples {
		checkEnvelope(t, []byte(s))
	}
	// The shapes the fast path is for do take it.
	for _, s := range envelopeSamples[:12] {
		var env envelope
		if !scanEnvelope([]byte(s), &env) {
			t.Errorf("scanEnvelope(%s) left it to the decoder", s)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range envelopeSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if jsontext.Scan(b).ErrAt >= 0 {
			return // the channel delivers valid JSON only
		}
		checkEnvelope(t, b)
	})
}

// checkEnvelope compares decodeEnvelope with the decoder on b.
func checkEnvelope(t *testing.T, b []byte) {
	t.Helper()
	var want envelope
	werr := jsontext.Unmarshal(b, &want)
	var got envelope
	gerr := decodeEnvelope(b, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("decodeEnvelope(%s) error %v; the decoder's %v", b, gerr, werr)
	}
	if werr != nil {
		return
	}
	if !sameEnvelope(&got, &want) {
		t.Fatalf("decodeEnvelope(%s) =\n %s\nthe decoder's\n %s", b, describe(&got), describe(&want))
	}
}

func sameEnvelope(a, b *envelope) bool {
	norm := func(e *envelope) []any {
		var m any
		if e.Method != nil {
			m = *e.Method
		}
		var ps []string
		for _, p := range e.Params {
			ps = append(ps, string(p))
		}
		return []any{string(e.ID), m, e.Params == nil, ps, string(e.Result), string(e.Error), e.IsEvent, string(e.Payload)}
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func describe(e *envelope) string {
	m := "<nil>"
	if e.Method != nil {
		m = *e.Method
	}
	var ps []string
	for _, p := range e.Params {
		ps = append(ps, string(p))
	}
	return "id=" + string(e.ID) + " method=" + m + " params=" + fmtList(ps, e.Params == nil) +
		" result=" + string(e.Result) + " error=" + string(e.Error) + " isEvent=" + map[bool]string{true: "true", false: "false"}[e.IsEvent] + " payload=" + string(e.Payload)
}

func fmtList(ps []string, isNil bool) string {
	if isNil {
		return "nil"
	}
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " | "
		}
		s += p
	}
	return s + "]"
}

// BenchmarkDecodeEnvelope decodes a request as Serve receives it and an
// answer as Pool receives it, with the fast path and with the decoder.
func BenchmarkDecodeEnvelope(b *testing.B) {
	for _, bc := range []struct{ name, msg string }{
		{"request", `{"id":123,"method":"add","params":[123,1]}`},
		{"answer", `{"id":123,"result":124,"error":null}`},
	} {
		msg := []byte(bc.msg)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var env envelope
				if decodeEnvelope(msg, &env) != nil {
					b.Fatal("decode failed")
				}
			}
		})
		b.Run(bc.name+"/decoder", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var env envelope
				if jsontext.Unmarshal(msg, &env) != nil {
					b.Fatal("decode failed")
				}
			}
		})
	}
}
