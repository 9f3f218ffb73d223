//go:build windows

package wine_test

import (
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
)

// setting returns the environment variable the Linux driver sets, or
// skips the test when run by hand without it.
func setting(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s not set (wine_test.go sets it)", name)
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
// write to a Linux pipe under Wine), shown in the log when the test ends.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.CreateTemp("", "nodeipc-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if b, _ := os.ReadFile(f.Name()); len(b) > 0 {
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
var _ = registerHelper("go-parent", func() int {
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
var _ = registerHelper("child", func() int {
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
		if n, ok := v.(map[string]any)["n"]; ok {
			seen = append(seen, fmt.Sprintf("msg %v", n))
			continue
		}
		if err := ch.Send(ctx, m); err != nil {
			fmt.Fprintln(os.Stderr, "Send:", err)
			return 8
		}
	}
})

// runParent runs node.exe parent.js with a Go child and wants "ok".
func runParent(t *testing.T, nodeArgs []string, s nodeipc.Serialization, scenario string, child ...string) {
	t.Helper()
	args := append(append(nodeArgs[:len(nodeArgs):len(nodeArgs)], testdata(t, "parent.js"), s.String(), scenario), child...)
	cmd := exec.Command(setting(t, "NODEIPC_WIN_NODE"), args...)
	cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=child")
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
