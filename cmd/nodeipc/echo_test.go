package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

// echoMessages are sent by the Node parent (as raw JSON, so that Node sees
// the keys in this order); echoDecoded is what it gets back from `nodeipc
// echo` (decoded into Go values and encoded again: the keys in the same
// order, integer-like keys first as in any JavaScript object), echoRaw what
// it gets back from `nodeipc echo --raw` (the bytes Node sent). The parent
// prints replies with JSON.stringify, which writes U+2028 as is.
var (
	echoMessages = []json.RawMessage{
		json.RawMessage(`{"b":1,"a":[true,null,"ü\u2028"]}`),
		json.RawMessage(`"a string"`),
		json.RawMessage(`3.25`),
		json.RawMessage(`[{"z":{},"y":{"2":0,"x":1,"1":2}}]`),
	}
	echoDecoded = []string{"{\"b\":1,\"a\":[true,null,\"ü\u2028\"]}", `"a string"`, `3.25`, `[{"z":{},"y":{"1":2,"2":0,"x":1}}]`}
	echoRaw     = []string{"{\"b\":1,\"a\":[true,null,\"ü\u2028\"]}", `"a string"`, `3.25`, `[{"z":{},"y":{"1":2,"2":0,"x":1}}]`}
)

func TestEchoUnderNode(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	self := testdata(t, "parent.js") // any path: echo ignores it
	tests := []struct {
		name string
		spec map[string]any
		want []string
	}{
		{"fork execPath", map[string]any{"how": "fork", "file": self, "execPath": nodeipcPath(), "execArgv": []string{"echo"}}, echoDecoded},
		{"fork execPath raw", map[string]any{"how": "fork", "file": self, "args": []string{"x", "--y"}, "execPath": nodeipcPath(), "execArgv": []string{"echo", "--raw"}}, echoRaw},
		{"spawn ipc at 0", map[string]any{"how": "spawn", "file": nodeipcPath(), "args": []string{"echo"}, "ipcIndex": 0}, echoDecoded},
		{"spawn ipc at 3", map[string]any{"how": "spawn", "file": nodeipcPath(), "args": []string{"echo"}, "ipcIndex": 3}, echoDecoded},
		{"spawn ipc at 4 raw", map[string]any{"how": "spawn", "file": nodeipcPath(), "args": []string{"echo", "--raw"}, "ipcIndex": 4}, echoRaw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec["send"] = echoMessages
			tt.spec["expect"] = len(echoMessages)
			tt.spec["disconnect"] = true
			res := runParent(t, node, tt.spec)
			if got := res.replies(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("replies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// The parent disconnected: echo exits 0, quietly.
			if *res.Code != 0 || res.Stderr != "" || res.Stdout != "" {
				t.Errorf("echo exited %d with stdout %q, stderr %q; want 0 and no output", *res.Code, res.Stdout, res.Stderr)
			}
		})
	}
}

func TestNoChannel(t *testing.T) {
	for _, args := range [][]string{{"echo"}, {"echo", "--raw", "script.js"}, {"bridge", "--", "cat"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Setenv("NODE_CHANNEL_FD", "")
			var stdout, stderr nodetest.SyncBuffer
			status := runApp(append([]string{"nodeipc"}, args...), strings.NewReader(""), &stdout, &stderr)
			if status != exitNoChannel {
				t.Errorf("exit status = %d; want %d", status, exitNoChannel)
			}
			if !strings.Contains(stderr.String(), "not started by Node") {
				t.Errorf("stderr = %q; want a hint", stderr.String())
			}
		})
	}
}

func TestBadChannel(t *testing.T) {
	t.Setenv("NODE_CHANNEL_FD", "99")
	var stdout, stderr nodetest.SyncBuffer
	status := runApp([]string{"nodeipc", "echo"}, strings.NewReader(""), &stdout, &stderr)
	if status != exitSetup {
		t.Errorf("exit status = %d; want %d\nstderr: %s", status, exitSetup, stderr.String())
	}
	if !strings.Contains(stderr.String(), "invalid IPC channel") {
		t.Errorf("stderr = %q; want the library's error", stderr.String())
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"run", "--help"}, {"echo", "--help"}, {"bridge", "-h"}, {"help", "bridge"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr nodetest.SyncBuffer
			status := runApp(append([]string{"nodeipc"}, args...), strings.NewReader(""), &stdout, &stderr)
			if status != 0 {
				t.Errorf("exit status = %d; want 0\nstderr: %s", status, stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{"USAGE:", "EXIT STATUS:", "128+N"} {
				if !strings.Contains(out, want) {
					t.Errorf("help does not contain %q:\n%s", want, out)
				}
			}
		})
	}
}

// echo sends back, with each echoed message, the handle that came with it.
func TestEchoReturnsHandles(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, serialization := range []string{"json", "advanced"} {
		out, err := exec.CommandContext(ctx, node, testdata(t, "handles.js"), nodeipcPath(), serialization).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("handles.js (%s): %v\n%s", serialization, err, out)
		}
	}
}
