package main

import (
	"bufio"
	"errors"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

func TestLineValueAdvanced(t *testing.T) {
	tests := []struct {
		line string
		want any
		ok   bool
	}{
		{`{"b":[1,"x",null,true],"a":{"$js":"bigint","value":"1"}}`, order("b", []any{1.0, "x", nil, true}, "a", big.NewInt(1)), true},
		{` 2.5 `, 2.5, true},
		{`"s"`, "s", true},
		{`{"a":1} {"b":2}`, nil, false},
		{`{"a":`, nil, false},
		{"\"\xff\"", nil, false},
	}
	for _, tt := range tests {
		got, err := lineValue(nodeipc.Advanced, []byte(tt.line))
		if tt.ok != (err == nil) || (err == nil && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("lineValue(advanced, %q) = %#v, %v; want %#v (ok %v)", tt.line, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, nodeipc.ErrInvalidMessage) {
			t.Errorf("lineValue(advanced, %q) error %v does not wrap ErrInvalidMessage", tt.line, err)
		}
	}
}

// order builds an *Object from keys and values, set in the order given.
func order(kv ...any) *jsvalue.Object {
	o := &jsvalue.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

func TestReadLine(t *testing.T) {
	defer func(n int) { maxLineSize = n }(maxLineSize)
	maxLineSize = 8
	in := "short\n" + strings.Repeat("x", 100) + "\n12345678\n\nlast"
	br := bufio.NewReaderSize(strings.NewReader(in), 16) // the minimum: lines span reads
	type result struct {
		line    string
		tooLong bool
		eof     bool
	}
	want := []result{{"short", false, false}, {"", true, false}, {"12345678", false, false}, {"", false, false}, {"last", false, true}}
	var got []result
	for {
		line, tooLong, err := readLine(br, nil)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		got = append(got, result{string(line), tooLong, err == io.EOF})
		if err == io.EOF {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readLine results = %+v; want %+v", got, want)
	}
}

func TestRootUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}} {
		var stdout, stderr nodetest.SyncBuffer
		status := runApp(append([]string{"nodeipc"}, args...), strings.NewReader(""), &stdout, &stderr)
		if status != exitSetup {
			t.Errorf("nodeipc %q: exit status = %d; want %d", args, status, exitSetup)
		}
	}
}
