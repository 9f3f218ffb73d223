package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

func TestRunExchange(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	p := startCLI(t, node, "run", testdata(t, "child.js"), "a1", "--not-a-flag-of-ours")

	ready := p.recvJSON()
	if got, want := ready["argv"], []any{"a1", "--not-a-flag-of-ours"}; !reflect.DeepEqual(got, want) {
		t.Errorf("child argv = %v; want %v", got, want)
	}

	p.send(`{"op":"echo","value":{"k":[1,2,"ü"]}}`)
	if got, want := p.recv(), `{"echo":{"k":[1,2,"ü"]}}`; got != want {
		t.Errorf("reply = %s; want %s", got, want)
	}
	// Not JSON, and a reserved internal message: both reported, neither
	// sent (either would crash or confuse the Node child).
	p.send(`not json`)
	p.send(`{"cmd":"NODE_HANDLE"}`)
	p.send(``) // blank: skipped silently
	p.send(`[1, 2.5, null]`)
	if got, want := p.recv(), `{"got":[1,2.5,null]}`; got != want {
		t.Errorf("reply = %s; want %s", got, want)
	}
	p.stdin.Close()

	status, rest := p.wait()
	if status != 0 {
		t.Errorf("exit status = %d; want 0", status)
	}
	if len(rest) != 0 {
		t.Errorf("more stdout after the replies: %q", rest)
	}
	stderr := p.stderr.String()
	for _, want := range []string{
		"child stdout: hello", // the child's stdout goes to our stderr
		"child stderr: hello",
		"stdin line 2: nodeipc: invalid message",
		"stdin line 3: nodeipc: invalid message",
		"child: disconnect", // stdin EOF disconnects the channel
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "line 4") {
		t.Errorf("a blank line was reported:\n%s", stderr)
	}
}

// TestRunPipedStdin checks that replies to the last lines of stdin are not
// lost at EOF: run disconnects only its sending side, then keeps printing
// until the child closes the channel.
func TestRunPipedStdin(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	var in strings.Builder
	const n = 50
	for i := range n {
		in.WriteString(`{"op":"echo","value":` + string(rune('0'+i%10)) + "}\n")
	}
	status, stdout, stderr := runCLI(t, node, in.String(), "run", testdata(t, "child.js"))
	if status != 0 {
		t.Errorf("exit status = %d; want 0\nstderr:\n%s", status, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != n+1 {
		t.Fatalf("got %d stdout lines; want %d (ready + %d replies)\nstdout:\n%s\nstderr:\n%s", len(lines), n+1, n, stdout, stderr)
	}
	for i, line := range lines[1:] {
		if want := `{"echo":` + string(rune('0'+i%10)) + "}"; line != want {
			t.Errorf("reply %d = %s; want %s", i, line, want)
		}
	}
	if !strings.Contains(stderr, "child: disconnect") {
		t.Errorf("the child did not see 'disconnect':\n%s", stderr)
	}
}

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	tests := []struct {
		name string
		msg  string
		want int
	}{
		{"exit 7", `{"op":"exit","code":7}`, 7},
		{"exit 0", `{"op":"exit","code":0}`, 0},
		{"killed by SIGTERM", `{"op":"kill","signal":"SIGTERM"}`, 128 + int(syscall.SIGTERM)},
		{"killed by SIGKILL", `{"op":"kill","signal":"SIGKILL"}`, 128 + int(syscall.SIGKILL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startCLI(t, node, "run", testdata(t, "child.js"))
			p.recvJSON() // ready
			p.send(tt.msg)
			// stdin stays open: the child's exit alone ends the run.
			if status, _ := p.wait(); status != tt.want {
				t.Errorf("exit status = %d; want %d\nstderr:\n%s", status, tt.want, p.stderr)
			}
		})
	}
}

func TestRunForwardsSignal(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	p := startCLI(t, node, "run", testdata(t, "child.js"), "--trap-term")
	p.recvJSON() // ready: the handler is installed
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got, want := p.recv(), `{"signal":"SIGTERM"}`; got != want {
		t.Errorf("message = %s; want %s", got, want)
	}
	if status, _ := p.wait(); status != 42 {
		t.Errorf("exit status = %d; want 42 (the child's)\nstderr:\n%s", status, p.stderr)
	}
}

func TestRunSecondSignalKills(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	p := startCLI(t, node, "run", testdata(t, "child.js"), "--ignore-term")
	p.recvJSON() // ready
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got, want := p.recv(), `{"signal":"SIGTERM"}`; got != want {
		t.Errorf("message = %s; want %s", got, want)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status, _ := p.wait(); status != 128+int(syscall.SIGKILL) {
		t.Errorf("exit status = %d; want %d (killed)\nstderr:\n%s", status, 128+int(syscall.SIGKILL), p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "killing the child") {
		t.Errorf("stderr does not report the kill:\n%s", p.stderr)
	}
}

func TestRunExecArgs(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	p := startCLI(t, node, "run",
		"--exec-arg=--no-warnings", "--exec-arg", "--title=a,b", // no splitting at commas
		"--", testdata(t, "child.js"), "x", "--y")
	ready := p.recvJSON()
	if got, want := ready["execArgv"], []any{"--no-warnings", "--title=a,b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("child execArgv = %v; want %v", got, want)
	}
	if got, want := ready["argv"], []any{"x", "--y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("child argv = %v; want %v", got, want)
	}
	p.stdin.Close()
	if status, _ := p.wait(); status != 0 {
		t.Errorf("exit status = %d; want 0\nstderr:\n%s", status, p.stderr)
	}
}

// TestRunExecEcho runs a non-Node child: nodeipc echo itself. It waits
// for each reply before sending more, because a Go child cannot reply once
// it has read the end of the channel (see the report on the library).
func TestRunExecEcho(t *testing.T) {
	t.Parallel()
	type exchange struct{ in, out string }
	tests := []struct {
		flags []string
		want  []exchange
	}{
		// Decoded into Go values and encoded again: keys in their order,
		// numbers normalized, escapes resolved.
		{nil, []exchange{{`{"b":1,"a":2.50,"2":{"y":1,"x":0}}`, `{"2":{"y":1,"x":0},"b":1,"a":2.5}`}, {`nope`, ``}, {`"s\u00fc"`, `"sü"`}, {`[true,null,{}]`, `[true,null,{}]`}}},
		// Byte for byte.
		{[]string{"--raw"}, []exchange{{`{"b":1,"a":2.50}`, `{"b":1,"a":2.50}`}, {`nope`, ``}, {`"s\u00fc"`, `"s\u00fc"`}, {`[true,null,{}]`, `[true,null,{}]`}}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{"echo"}, tt.flags...), " "), func(t *testing.T) {
			t.Parallel()
			args := append([]string{"run", "--exec", nodeipcPath(), "echo"}, tt.flags...)
			p := startCLI(t, "node", args...)
			for _, x := range tt.want {
				p.send(x.in)
				if x.out == "" {
					continue
				}
				if got := p.recv(); got != x.out {
					t.Errorf("%s echoed as %s; want %s", x.in, got, x.out)
				}
			}
			p.stdin.Close()
			if status, rest := p.wait(); status != 0 || len(rest) != 0 {
				t.Errorf("exit status = %d, more stdout %q; want 0 and nothing\nstderr:\n%s", status, rest, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), "stdin line 2: nodeipc: invalid message") {
				t.Errorf("stderr does not report line 2:\n%s", p.stderr)
			}
		})
	}
}

// TestRunBadInputFromChild checks that a child writing garbage on the
// channel is reported, and the run goes on.
func TestRunBadInputFromChild(t *testing.T) {
	t.Parallel()
	python := nodetest.RequireProgram(t, "python3")
	script := `import os; os.write(3, b'not json\n{"ok":1}\n\n[2]\n')`
	status, stdout, stderr := runCLI(t, "node", "", "run", "--exec", python, "-c", script)
	if status != 0 {
		t.Errorf("exit status = %d; want 0\nstderr:\n%s", status, stderr)
	}
	if want := "{\"ok\":1}\n[2]\n"; stdout != want {
		t.Errorf("stdout = %q; want %q", stdout, want)
	}
	if strings.Count(stderr, "bad message skipped") != 2 {
		t.Errorf("stderr does not report 2 bad messages:\n%s", stderr)
	}
}

func TestRunSetupErrors(t *testing.T) {
	js := testdata(t, "child.js")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no script", []string{"run"}, "missing SCRIPT"},
		{"unknown flag", []string{"run", "--bogus", js}, "flag provided but not defined"},
		{"bad serialization", []string{"run", "--serialization", "xml", js}, "serialization"},
		{"exec-arg with exec", []string{"run", "--exec", "--exec-arg=-x", "true"}, "--exec-arg does not apply"},
		{"no node", []string{"run", "--node", "/nonexistent/node", js}, "/nonexistent/node"},
		{"no program", []string{"run", "--exec", "/nonexistent/prog"}, "/nonexistent/prog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr nodetest.SyncBuffer
			status := runApp(append([]string{"nodeipc"}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			if status != exitSetup {
				t.Errorf("exit status = %d; want %d", status, exitSetup)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q; want it to contain %q", stderr.String(), tt.want)
			}
			if stdout.String() != "" {
				t.Errorf("stdout = %q; want nothing", stdout.String())
			}
		})
	}
}

// TestRunOutputIsJSONLines checks the stdout contract on every line of a
// run: one valid JSON text per line, nothing else.
func TestRunOutputIsJSONLines(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	_, stdout, _ := runCLI(t, node, `{"x":"line\u2028sep"}`+"\n"+`"multi\nline"`+"\n", "run", testdata(t, "child.js"))
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stdout line %q is not JSON", line)
		}
	}
	if n := strings.Count(stdout, "\n"); n != 3 {
		t.Errorf("got %d lines; want 3:\n%s", n, stdout)
	}
}

// run --serialization advanced: JSON-view lines in, JS values to the child,
// and the child's replies printed in the JSON view.
func TestRunAdvanced(t *testing.T) {
	t.Parallel()
	node := nodetest.System(t)
	in := `{"op":"echo","value":{"m":{"$js":"Map","entries":[[1,"a"]]},"b":{"$js":"bigint","value":"12345678901234567890"},"d":{"$js":"Date","ms":0},"buf":{"$js":"Buffer","base64":"aGk="},"n":{"$js":"number","value":"NaN"}}}` + "\n"
	status, stdout, stderr := runCLI(t, node, in, "run", "--serialization", "advanced", testdata(t, "child.js"))
	if status != 0 {
		t.Fatalf("status %d\nstderr:\n%s", status, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// The keys in the order they were written: the child saw them so.
	want := `{"echo":{"m":{"$js":"Map","entries":[[1,"a"]]},"b":{"$js":"bigint","value":"12345678901234567890"},"d":{"$js":"Date","ms":0,"iso":"1970-01-01T00:00:00.000Z"},"buf":{"$js":"Buffer","base64":"aGk="},"n":{"$js":"number","value":"NaN"}}}`
	if len(lines) < 2 || lines[1] != want {
		t.Fatalf("stdout:\n%s\nwant second line:\n%s", stdout, want)
	}
}
