package v8

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/nodeipc/jsvalue"
)

// FuzzUnmarshal checks that any input either decodes or fails with an
// *Error, and that whatever decodes re-encodes to a payload that decodes to
// the same value. AppendStringProperty must agree with the decoder.
func FuzzUnmarshal(f *testing.F) {
	for _, values := range v8Fixtures(f) {
		for _, p := range values {
			f.Add(p)
		}
	}
	for _, s := range []string{
		"FF0F 6F 2204 73656C66 5E00 7B01",
		"FF0F 41 02 42 02 0102 56 42 00 02 00 5E 01 24 00 02",
		"FF0F 5C 01 6F 2203 636D64 2206 4E4F44455F41 7B01",
		"FF0D 42 04 01000200 56 77 00 04",
		"FF0F 61 FFFFFFFF0F 4900 4902 40 01 FFFFFFFF0F",
		"FF0F 72 52 6D 220178 63 6F7B00 73 220173 2E",
	} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		err := Unmarshal(data, &v)
		cmd, isCmd := AppendStringProperty(nil, data, "cmd")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Op != "unmarshal" {
				t.Fatalf("Unmarshal error %v is not an unmarshal *Error", err)
			}
			if pe.Offset < 0 || pe.Offset > len(data) {
				t.Fatalf("error offset %d outside the %d-byte payload", pe.Offset, len(data))
			}
			return
		}
		var props *jsvalue.Object
		switch x := v.(type) {
		case *jsvalue.Object:
			props = x
		case *jsvalue.Array:
			props = x.Props
		}
		cmdValue, _ := props.Get("cmd")
		want, wantOK := cmdValue.(string)
		if isCmd != wantOK || string(cmd) != want {
			t.Fatalf("AppendStringProperty = %q, %v; the decoded value says %q, %v", cmd, isCmd, want, wantOK)
		}

		b, err := Append(nil, v)
		if err != nil {
			if strings.Contains(err.Error(), "Float16Array") || strings.Contains(err.Error(), "cause contains the Error itself") ||
				strings.Contains(err.Error(), "nested deeper") {
				return // decoded, but never sent (see PROTOCOL.md §3)
			}
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
		var again any
		if err := Unmarshal(b, &again); err != nil {
			t.Fatalf("decoding the re-encoded % x: %v", b, err)
		}
		if !sameV8(v, again) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, again)
		}

		// Typed decoding must fail cleanly or succeed, never panic.
		if err := Unmarshal(data, new(fuzzTarget)); err != nil && !isError(err) {
			t.Fatalf("typed decode: %v", err)
		}
		var list []fuzzTarget
		if err := Unmarshal(data, &list); err != nil && !isError(err) {
			t.Fatalf("typed decode into a slice: %v", err)
		}
	})
}

// FuzzEmbed is embedded in fuzzTarget.
type FuzzEmbed struct {
	E  string `json:"e"`
	E2 *FuzzEmbed
}

// fuzzTarget has a field of most Go kinds the typed decoder handles.
type fuzzTarget struct {
	*FuzzEmbed
	A   int               `json:"a"`
	B   []string          `json:"b"`
	C   map[string]any    `json:"c"`
	D   *fuzzTarget       `json:"d"`
	F   float32           `json:"f"`
	U   uint8             `json:"u"`
	S   string            `json:"s"`
	T   time.Time         `json:"t"`
	M   *jsvalue.Map      `json:"m"`
	Set *jsvalue.Set      `json:"set"`
	I32 []int32           `json:"i32"`
	Arr [2]string         `json:"arr"`
	IK  map[int]string    `json:"ik"`
	MM  map[string]uint16 `json:"mm"`
	Buf jsvalue.Buffer    `json:"buf"`
	Err error             `json:"err"`
	JE  *jsvalue.Error    `json:"je"`
	Any *any              `json:"any"`
	Big *big.Int          `json:"big"`
	BV  big.Int           `json:"bv"`
	RE  jsvalue.RegExp    `json:"re"`
	Bx  jsvalue.Boxed     `json:"bx"`
	Pp  **int             `json:"pp"`
	Ifc fmt.Stringer      `json:"ifc"`
	Sl  [][]any           `json:"sl"`
	Obj *jsvalue.Object   `json:"obj"`
	OV  jsvalue.Object    `json:"ov"`
}
