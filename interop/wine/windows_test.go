//go:build windows

package wine_test

import (
	"nodeipc.dev/internal/nodetest"

	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// setting returns the environment variable the Linux driver sets. Without
// it (the binary run by hand) the test skips, or fails in CI, where only
// the driver runs it (nodetest.Missing).
func setting(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		nodetest.Missing(t, "%s not set (wine_test.go sets it)", name)
	}
	return v
}

func testdata(t *testing.T, name string) string {
	return filepath.Join(setting(t, "NODEIPC_WIN_TESTDATA"), name)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logFile returns a file for a child's output (Windows Node must not
// write to a Linux pipe under Wine), shown in the log if the test fails.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "nodeipc-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if b, _ := os.ReadFile(f.Name()); len(b) > 0 && t.Failed() {
			t.Logf("%s output:\n%s", name, b)
		}
		os.Remove(f.Name())
	})
	return f
}

var modes = []nodeipc.Serialization{nodeipc.JSON, nodeipc.Advanced}

// startNode starts node.exe child.js MODE with a channel.
func startNode(t *testing.T, mode string, s nodeipc.Serialization) (*nodeipc.Channel, *exec.Cmd) {
	t.Helper()
	cmd := nodeipc.NodeCommand(setting(t, "NODEIPC_WIN_NODE"), nil, testdata(t, "child.js"), mode)
	out := logFile(t, "node")
	cmd.Stdout, cmd.Stderr = out, out
	ch, err := nodeipc.Start(cmd, &nodeipc.Options{Serialization: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return ch, cmd
}

type echoMsg struct {
	I      int            `json:"i"`
	S      string         `json:"s"`
	List   []any          `json:"list"`
	Nested map[string]any `json:"nested"`
}

// roundTrips sends 50 messages and a 1 MB one and checks their echoes.
func roundTrips(t *testing.T, ctx context.Context, ch *nodeipc.Channel) {
	t.Helper()
	for i := range 50 {
		want := echoMsg{I: i, S: "héllo ✓ \u2028", List: []any{1.0, 2.5, nil, true}, Nested: map[string]any{"deep": []any{float64(i)}}}
		if err := ch.Send(ctx, want); err != nil {
			t.Fatal(err)
		}
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		var got echoMsg
		if err := m.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("echo %d: %v; want %v", i, got, want)
		}
	}
	big := strings.Repeat("x", 1<<20)
	if err := ch.Send(ctx, map[string]string{"big": big}); err != nil {
		t.Fatal(err)
	}
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := m.Decode(&got); err != nil || got["big"] != big {
		t.Fatalf("1 MB echo: %d bytes, %v", len(got["big"]), err)
	}
}

// A Windows Go parent starts node.exe: the channel is fd 3, messages and a
// 1 MB message go both ways, and closing the channel ends the child.
func TestGoParentNodeChild(t *testing.T) {
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			ch, cmd := startNode(t, "env", s)
			ctx := ctxFor(t)
			m, err := ch.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Pid       int
				Connected bool
			}
			if err := m.Decode(&env); err != nil || !env.Connected || env.Pid != cmd.Process.Pid {
				t.Fatalf("child's first message %s (%v); want pid %d, connected", m.Raw(), err, cmd.Process.Pid)
			}
			roundTrips(t, ctx, ch)
			if err := ch.Close(); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("node after the parent closed the channel: %v; want exit 0", err)
			}
		})
	}
}

// The Go parent closing the channel is 'disconnect' in the Node child.
func TestGoParentDisconnects(t *testing.T) {
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			ch, cmd := startNode(t, "exit-on-disconnect", s)
			ctx := ctxFor(t)
			if err := ch.Send(ctx, "hi"); err != nil {
				t.Fatal(err)
			}
			if _, err := ch.Recv(ctx); err != nil {
				t.Fatal(err)
			}
			if err := ch.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 42 {
				t.Fatalf("node exited with %d (%v); want 42, its 'disconnect' code", code, err)
			}
		})
	}
}

// A Node child that disconnects: its last message arrives, then the end.
func TestNodeChildDisconnects(t *testing.T) {
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			ch, cmd := startNode(t, "self-disconnect", s)
			ctx := ctxFor(t)
			if err := ch.Send(ctx, "bye"); err != nil {
				t.Fatal(err)
			}
			m, err := ch.Recv(ctx)
			if err != nil || string(m.Raw()) != `{"bye":"bye"}` && s == nodeipc.JSON {
				t.Fatalf("Recv = %v, %v; want the answer", m, err)
			}
			if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
				t.Fatalf("Recv after the child's disconnect = %v; want ErrDisconnected", err)
			}
			if err := ch.Send(ctx, "late"); !errors.Is(err, nodeipc.ErrDisconnected) {
				t.Fatalf("Send after the child's disconnect = %v; want ErrDisconnected", err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("node: %v", err)
			}
		})
	}
}

// goParent is a Go parent that starts node.exe child.js env, prints the
// child's pid and waits to be killed.
var _ = nodetest.RegisterHelper("go-parent", func() int {
	cmd := nodeipc.NodeCommand(os.Getenv("NODEIPC_WIN_NODE"), nil, filepath.Join(os.Getenv("NODEIPC_WIN_TESTDATA"), "child.js"), "env")
	null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	cmd.Stdout, cmd.Stderr = null, null
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	m, err := ch.Recv(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var env struct{ Pid int }
	m.Decode(&env)
	fmt.Println(env.Pid)
	select {}
})

// A Node child does not outlive its Go parent: killed, the parent's job
// closes and takes the child with it.
func TestParentDeathKillsTheChild(t *testing.T) {
	setting(t, "NODEIPC_WIN_NODE")
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=go-parent")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = logFile(t, "go-parent")
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("go-parent printed %q (%v)", line, err)
	}
	child, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("OpenProcess(node %d): %v", pid, err)
	}
	defer windows.CloseHandle(child)
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	parent.Wait()
	// A bound, not a measurement: the job kills the child at once.
	ev, err := windows.WaitForSingleObject(child, 30_000)
	if ev != windows.WAIT_OBJECT_0 {
		windows.TerminateProcess(child, 1)
		t.Fatalf("node %d still runs 30 s after its parent was killed (%d, %v)", pid, ev, err)
	}
}

// child is the Go child that Node's parent.js spawns: it echoes, answers
// "bye" and disconnects, and for "report" sends what it received so far
// (message numbers and bad input).
var _ = nodetest.RegisterHelper("child", func() int {
	ctx := context.Background()
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", err)
		return 3
	}
	defer ch.Close()
	var seen []string
	for {
		m, err := ch.Recv(ctx)
		var perr *nodeipc.ProtocolError
		switch {
		case errors.As(err, &perr) && errors.Is(err, nodeipc.ErrInvalidMessage):
			seen = append(seen, "bad invalid")
			continue
		case errors.Is(err, nodeipc.ErrDisconnected):
			return 0
		case err != nil:
			fmt.Fprintln(os.Stderr, "Recv:", err)
			return 4
		}
		var v any
		if err := m.Decode(&v); err != nil {
			fmt.Fprintln(os.Stderr, "Decode:", err)
			return 5
		}
		switch v {
		case "bye":
			ch.Send(ctx, map[string]string{"bye": "bye"})
			if err := ch.Disconnect(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "Disconnect:", err)
				return 6
			}
			return 0
		case "report":
			if err := ch.Send(ctx, seen); err != nil {
				return 7
			}
			continue
		}
		if o, isObj := v.(*jsvalue.Object); isObj {
			if n, ok := o.Get("n"); ok {
				seen = append(seen, fmt.Sprintf("msg %v", n))
				continue
			}
		}
		if err := ch.Send(ctx, m); err != nil {
			fmt.Fprintln(os.Stderr, "Send:", err)
			return 8
		}
	}
})

// runParent runs node.exe parent.js with a Go child (a helper of this
// test binary, "child" unless NODEIPC_TEST_HELPER is in env) and wants
// "ok".
func runParent(t *testing.T, nodeArgs []string, s nodeipc.Serialization, scenario string, child ...string) {
	runParentEnv(t, nil, nodeArgs, s, scenario, child...)
}

func runParentEnv(t *testing.T, env, nodeArgs []string, s nodeipc.Serialization, scenario string, child ...string) {
	t.Helper()
	args := append(append(nodeArgs[:len(nodeArgs):len(nodeArgs)], testdata(t, "parent.js"), s.String(), scenario), child...)
	cmd := exec.Command(setting(t, "NODEIPC_WIN_NODE"), args...)
	cmd.Env = append(append(os.Environ(), "NODEIPC_TEST_HELPER=child"), env...)
	out := logFile(t, "parent.js")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	b, _ := os.ReadFile(out.Name())
	if err != nil || !strings.Contains(string(b), "ok\n") {
		t.Fatalf("node parent.js %s %s: %v", s, scenario, err)
	}
}

// A Node parent spawns a Windows Go child built on the library: round
// trips, 1 MB, and disconnect from either side.
func TestNodeParentGoChild(t *testing.T) {
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			runParent(t, nil, s, "echo", os.Args[0], "-test.run=^$")
			runParent(t, nil, s, "child-disconnects", os.Args[0], "-test.run=^$")
		})
	}
}

// A Node parent spawns the Windows `nodeipc echo`.
func TestNodeParentCLIEcho(t *testing.T) {
	cli := setting(t, "NODEIPC_WIN_CLI")
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			runParent(t, nil, s, "echo", cli, "echo")
		})
	}
}

// Bad payloads in valid frames, written raw by a Node parent: the Go child
// reports each and keeps every good message.
func TestNodeParentBadInput(t *testing.T) {
	runParent(t, []string{"--expose-internals", "--no-warnings"}, nodeipc.JSON, "hostile", os.Args[0], "-test.run=^$")
}

// cat copies stdin to stdout line by line: a program for nodeipc bridge.
var _ = nodetest.RegisterHelper("cat", func() int {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, err := in.ReadBytes('\n')
		out.Write(line)
		if len(line) > 0 && out.Flush() != nil {
			return 1
		}
		if err != nil {
			return 0
		}
	}
})

// A Node parent talks to a line program through the Windows `nodeipc
// bridge`: messages both ways (1 MB too), disconnect ends the program.
func TestNodeParentCLIBridge(t *testing.T) {
	cli := setting(t, "NODEIPC_WIN_CLI")
	runParentEnv(t, []string{"NODEIPC_TEST_HELPER=cat"}, nil, nodeipc.JSON, "echo", cli, "bridge", "--", os.Args[0], "-test.run=^$")
}

// The Windows `nodeipc run` starts node.exe with a channel and prints what
// the child sends until the child disconnects.
func TestCLIRun(t *testing.T) {
	cli := setting(t, "NODEIPC_WIN_CLI")
	for _, s := range modes {
		t.Run(s.String(), func(t *testing.T) {
			cmd := exec.Command(cli, "run", "--node", setting(t, "NODEIPC_WIN_NODE"), "--serialization", s.String(), testdata(t, "child.js"), "burst", "100")
			stdin, err := cmd.StdinPipe() // open until the end: no disconnect from our side
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			out := logFile(t, "run-stdout")
			cmd.Stdout, cmd.Stderr = out, logFile(t, "run-stderr")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			b, _ := os.ReadFile(out.Name())
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if err != nil || len(lines) != 101 || lines[0] != `{"i":0}` || lines[99] != `{"i":99}` || lines[100] != `"done"` {
				t.Fatalf("nodeipc run: %v; %d lines; want {\"i\":0} to {\"i\":99} and \"done\"", err, len(lines))
			}
		})
	}
}

// serve-worker is a Go pool worker: add(a, b) returns a+b.
var _ = nodetest.RegisterHelper("serve-worker", func() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ch.Close()
	h := map[string]pool.Handler{
		"add": func(ctx context.Context, req *pool.Request) (any, error) {
			var a, b int
			if err := req.Params(&a, &b); err != nil {
				return nil, err
			}
			fmt.Fprintln(os.Stderr, "adding", a, b) // the pool prefixes worker output
			return a + b, nil
		},
	}
	if err := pool.Serve(context.Background(), ch, h, nil); err != nil && !errors.Is(err, nodeipc.ErrDisconnected) {
		fmt.Fprintln(os.Stderr, "Serve:", err)
		return 1
	}
	return 0
})

// The Windows `nodeipc pool` runs calls on Windows Go workers it starts
// with channels, and passes on their output.
func TestCLIPool(t *testing.T) {
	cli := setting(t, "NODEIPC_WIN_CLI")
	var calls strings.Builder
	for i := range 20 {
		fmt.Fprintf(&calls, `{"method":"add","params":[%d,%d]}`+"\n", i, 1000)
	}
	in := logFile(t, "pool-stdin")
	in.WriteString(calls.String())
	in.Seek(0, 0)
	out, errOut := logFile(t, "pool-stdout"), logFile(t, "pool-stderr")
	cmd := exec.Command(cli, "pool", "--workers", "2", "--", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=serve-worker")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("nodeipc pool: %v", err)
	}
	b, _ := os.ReadFile(out.Name())
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d result lines; want 20", len(lines))
	}
	for i, line := range lines {
		if want := fmt.Sprintf(`"result":%d`, i+1000); !strings.Contains(line, want) {
			t.Fatalf("result %d: %s; want %s", i, line, want)
		}
	}
	e, _ := os.ReadFile(errOut.Name())
	if !strings.Contains(string(e), "adding 19 1000") {
		t.Fatalf("the workers' output did not reach stderr")
	}
}
