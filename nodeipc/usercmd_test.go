package nodeipc

import (
	"encoding/json"
	"testing"
)

func TestMayBeInternal(t *testing.T) {
	type plain struct {
		ID  int    `json:"id"`
		Cmd string `json:"op"`
	}
	type tagged struct {
		Op string `json:"cmd"`
	}
	type embeds struct{ plain }
	type folded struct{ CMD string }
	type skipped struct {
		Cmd string `json:"-"`
	}
	tests := []struct {
		v    any
		want bool
	}{
		{1, false}, {"NODE_X", false}, {[]any{map[string]any{"cmd": "NODE_X"}}, false},
		{map[string]any{"cmd": "NODE_X"}, true}, {map[string]any{"cmd": "x"}, false},
		{map[string]string{"cmd": "NODE_X"}, true}, {map[string]int{"cmd": 1}, true},
		{plain{}, false}, {&plain{}, false}, {tagged{}, true}, {embeds{}, true}, {folded{}, true},
		{skipped{}, false}, {json.RawMessage(`{}`), true}, {&Message{}, true},
	}
	for _, tt := range tests {
		if got := mayBeInternal(tt.v); got != tt.want {
			t.Errorf("mayBeInternal(%#v) = %v; want %v", tt.v, got, tt.want)
		}
	}
}
