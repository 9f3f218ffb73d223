package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

func TestBridgePython(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	python := nodetest.RequireProgram(t, "python3")
	worker := testdata(t, "worker.py")
	send := []json.RawMessage{
		json.RawMessage(`{"op":"hi","n":1}`),
		json.RawMessage(`{"op":"bad"}`),
		json.RawMessage(`{"x":"ü"}`),
	}
	want := []string{`{"py":{"op":"hi","n":1}}`, `{"after_bad":true}`, `{"py":{"x":"ü"}}`}
	tests := []struct {
		name string
		spec map[string]any
	}{
		{"spawn", map[string]any{"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", python, worker}}},
		{"spawn ipc at 0", map[string]any{"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", python, worker}, "ipcIndex": 0}},
		{"fork execPath", map[string]any{"how": "fork", "file": worker, "execPath": nodeipcPath(), "execArgv": []string{"bridge", "--", python}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec["send"] = send
			tt.spec["expect"] = len(want)
			tt.spec["disconnect"] = true
			// parent.js fails if the bad line reaches Node: it would crash.
			res := runParent(t, node, tt.spec)
			if got := res.replies(); !reflect.DeepEqual(got, want) {
				t.Errorf("replies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The disconnect closed the worker's stdin: it said so on its
			// stderr (which passes through) and exited 5, our status.
			if *res.Code != 5 {
				t.Errorf("exit code = %d; want 5 (the worker's)\nstderr:\n%s", *res.Code, res.Stderr)
			}
			for _, want := range []string{"worker: stdin closed", "nodeipc bridge: python3 stdout line 2: nodeipc: invalid message"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, res.Stderr)
				}
			}
			if res.Stdout != "" {
				t.Errorf("stdout = %q; want nothing", res.Stdout)
			}
		})
	}
}

func TestBridgeExitStatus(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	python := nodetest.RequireProgram(t, "python3")
	res := runParent(t, node, map[string]any{
		"how":  "spawn",
		"file": nodeipcPath(),
		"args": []string{"bridge", "--", python, testdata(t, "worker.py")},
		"send": []any{map[string]any{"n": 1}, map[string]any{"op": "exit", "code": 9}},
	})
	if *res.Code != 9 {
		t.Errorf("exit code = %d; want 9\nstderr:\n%s", *res.Code, res.Stderr)
	}
	// The reply written before the exit was flushed to Node.
	if got, want := res.replies(), []string{`{"py":{"n":1}}`}; !reflect.DeepEqual(got, want) {
		t.Errorf("replies = %q; want %q", got, want)
	}
}

// TestBridgeShell bridges programs that know nothing of JSON: cat turns
// every message around, and a shell script writes lines of its own.
func TestBridgeShell(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	cat := nodetest.RequireProgram(t, "cat")
	sh := nodetest.RequireProgram(t, "sh")
	t.Run("cat", func(t *testing.T) {
		t.Parallel()
		send := []json.RawMessage{json.RawMessage(`{"b":[1,"two"],"a":null}`), json.RawMessage(`"x"`)}
		res := runParent(t, node, map[string]any{
			"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", cat},
			"send": send, "expect": len(send), "disconnect": true,
		})
		if got, want := res.replies(), []string{`{"b":[1,"two"],"a":null}`, `"x"`}; !reflect.DeepEqual(got, want) {
			t.Errorf("replies = %q; want %q", got, want)
		}
		if *res.Code != 0 {
			t.Errorf("exit code = %d; want 0\nstderr:\n%s", *res.Code, res.Stderr)
		}
	})
	t.Run("sh", func(t *testing.T) {
		t.Parallel()
		script := `echo '{"hello":1}'; echo; echo 'oops {'; echo '[2]'; echo 'to stderr' >&2; exit 3`
		res := runParent(t, node, map[string]any{
			"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", sh, "-c", script},
		})
		if got, want := res.replies(), []string{`{"hello":1}`, `[2]`}; !reflect.DeepEqual(got, want) {
			t.Errorf("replies = %q; want %q", got, want)
		}
		if *res.Code != 3 {
			t.Errorf("exit code = %d; want 3\nstderr:\n%s", *res.Code, res.Stderr)
		}
		for _, want := range []string{"to stderr", "sh stdout line 3: nodeipc: invalid message"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("stderr does not contain %q:\n%s", want, res.Stderr)
			}
		}
	})
}

func TestBridgeNoProgram(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	res := runParent(t, node, map[string]any{
		"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", "/nonexistent/program"},
	})
	if *res.Code != exitSetup {
		t.Errorf("exit code = %d; want %d\nstderr:\n%s", *res.Code, exitSetup, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "/nonexistent/program") {
		t.Errorf("stderr does not name the program:\n%s", res.Stderr)
	}
}

func TestBridgeUsage(t *testing.T) {
	var stdout, stderr nodetest.SyncBuffer
	status := runApp([]string{"nodeipc", "bridge"}, strings.NewReader(""), &stdout, &stderr)
	if status != exitSetup || !strings.Contains(stderr.String(), "missing PROGRAM") {
		t.Errorf("exit status = %d, stderr %q; want %d and missing PROGRAM", status, stderr.String(), exitSetup)
	}
}

// TestBridgeForwardsSignal checks that a signal to the bridge reaches the
// program: the worker dies of SIGTERM, and the bridge exits 128+15 instead
// of dying itself.
func TestBridgeForwardsSignal(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	python := nodetest.RequireProgram(t, "python3")
	res := runParent(t, node, map[string]any{
		"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", python, testdata(t, "worker.py")},
		"send": []any{"ping"}, "expect": 1, "kill": "SIGTERM",
	})
	if *res.Code != 128+15 {
		t.Errorf("exit code = %d; want %d\nstderr:\n%s", *res.Code, 128+15, res.Stderr)
	}
	if strings.Contains(res.Stderr, "stdin closed") {
		t.Errorf("the worker saw EOF, not the signal:\n%s", res.Stderr)
	}
}

// TestBridgeDoesNotLeakChannel checks that PROGRAM inherits neither the
// channel's fd nor its environment variables.
func TestBridgeDoesNotLeakChannel(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	sh := nodetest.RequireProgram(t, "sh")
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	for _, ipcIndex := range []int{3, 4} {
		script := fmt.Sprintf(`if [ -e /proc/$$/fd/%d ]; then fd=open; else fd=closed; fi; echo "[\"${NODE_CHANNEL_FD-unset}\",\"${NODE_CHANNEL_SERIALIZATION_MODE-unset}\",\"$fd\"]"`, ipcIndex)
		res := runParent(t, node, map[string]any{
			"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", sh, "-c", script}, "ipcIndex": ipcIndex,
		})
		if got, want := res.replies(), []string{`["unset","unset","closed"]`}; !reflect.DeepEqual(got, want) {
			t.Errorf("ipc at %d: PROGRAM reports [NODE_CHANNEL_FD, NODE_CHANNEL_SERIALIZATION_MODE, fd %d] = %q; want %q\nstderr:\n%s", ipcIndex, ipcIndex, got, want, res.Stderr)
		}
	}
}

// bridge under an advanced-mode Node parent: the program sees the JSON view
// of each value (cat echoes it) and Node gets the very same values back.
func TestBridgeAdvanced(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	cat := nodetest.RequireProgram(t, "cat")
	res := runParent(t, node, map[string]any{
		"how": "spawn", "file": nodeipcPath(), "args": []string{"bridge", "--", cat},
		"serialization": "advanced", "advancedEcho": true, "disconnect": true,
	})
	if len(res.Replies) != 4 {
		t.Fatalf("got %d replies; want 4\nstderr:\n%s", len(res.Replies), res.Stderr)
	}
	if *res.Code != 0 {
		t.Errorf("exit code = %d; want 0 (cat's)", *res.Code)
	}
}
