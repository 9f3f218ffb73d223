package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"nodeipc.dev/internal/nodetest"
)

// The test binary is also the nodeipc command: TestMain links it as
// $binDir/nodeipc, and when it runs under that name it is nodeipc's main.
// So the CLI under test is built with the test's flags (-race included), and
// Node can start it by path as fork()'s execPath or with spawn().

// binDir holds the nodeipc link to the test binary.
var binDir string

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "nodeipc" {
		os.Exit(runApp(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if binDir, err = os.MkdirTemp("", "nodeipc-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	if err := os.Symlink(exe, filepath.Join(binDir, "nodeipc")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// Every goroutine a test started (stdout readers, in-process
		// commands) must be gone.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			return 1
		}
	}
	return code
}

// nodeipcPath is the path of the nodeipc command under test.
func nodeipcPath() string { return filepath.Join(binDir, "nodeipc") }

// testTimeout bounds every process a test starts, so that a bug fails the
// test instead of hanging it. It is not a performance assertion.
const testTimeout = 30 * time.Second

// testdata returns the absolute path of a fixture.
func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cliProc is a running nodeipc command with its stdin, stdout (as lines)
// and stderr.
type cliProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, one line at a time; closed at EOF
	stderr *nodetest.SyncBuffer
	waited bool
}

// startCLI starts nodeipc with args and NODEIPC_NODE set to node. The
// process is killed at the end of the test if it is still running.
func startCLI(t *testing.T, node string, args ...string) *cliProc {
	t.Helper()
	cmd := exec.Command(nodeipcPath(), args...)
	cmd.Env = append(os.Environ(), "NODEIPC_NODE="+node)
	p := &cliProc{t: t, cmd: cmd, lines: make(chan string, 100), stderr: &nodetest.SyncBuffer{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = testTimeout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if !p.waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// send writes one line to the command's stdin.
func (p *cliProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("writing %q to stdin: %v", line, err)
	}
}

// recv returns the next stdout line; it fails the test at EOF or after
// testTimeout.
func (p *cliProc) recv() string {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("stdout ended; want a line\nstderr:\n%s", p.stderr)
		}
		return line
	case <-time.After(testTimeout):
		p.t.Fatalf("no line on stdout after %v\nstderr:\n%s", testTimeout, p.stderr)
		return ""
	}
}

// recvJSON returns the next stdout line, decoded.
func (p *cliProc) recvJSON() map[string]any {
	p.t.Helper()
	line := p.recv()
	var v map[string]any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		p.t.Fatalf("stdout line %q: %v", line, err)
	}
	return v
}

// wait waits for the command to exit and returns its exit status and the
// rest of its stdout.
func (p *cliProc) wait() (status int, rest []string) {
	p.t.Helper()
	done := make(chan error, 1)
	go func() {
		for line := range p.lines {
			rest = append(rest, line)
		}
		done <- p.cmd.Wait()
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(testTimeout):
		p.cmd.Process.Kill()
		<-done
		p.t.Fatalf("nodeipc %v did not exit within %v\nstderr:\n%s", p.cmd.Args[1:], testTimeout, p.stderr)
	}
	p.waited = true
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatalf("wait: %v", err)
	}
	return p.cmd.ProcessState.ExitCode(), rest
}

// runCLI runs nodeipc with args and stdin to completion.
func runCLI(t *testing.T, node, stdin string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	p := startCLI(t, node, args...)
	if _, err := io.WriteString(p.stdin, stdin); err != nil {
		t.Fatal(err)
	}
	p.stdin.Close()
	status, lines := p.wait()
	if len(lines) > 0 {
		stdout = strings.Join(lines, "\n") + "\n"
	}
	return status, stdout, p.stderr.String()
}

// nodeResult is what testdata/parent.js prints.
type nodeResult struct {
	Replies []json.RawMessage `json:"replies"`
	Code    *int              `json:"code"`
	Signal  *string           `json:"signal"`
	Stdout  string            `json:"stdout"`
	Stderr  string            `json:"stderr"`
	Errors  []string          `json:"errors"`
}

// runParent runs testdata/parent.js with spec and returns its result. Node
// must exit 0 and print a result: a crash of the parent fails the test.
func runParent(t *testing.T, node string, spec map[string]any) nodeResult {
	t.Helper()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, testdata(t, "parent.js"), string(specJSON))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node parent.js %s: %v\nstdout:\n%s\nstderr:\n%s", specJSON, err, &stdout, &stderr)
	}
	var res nodeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("parent.js printed %q: %v\nstderr:\n%s", &stdout, err, &stderr)
	}
	if len(res.Errors) > 0 {
		t.Errorf("parent.js reported errors: %q\nchild stderr:\n%s", res.Errors, res.Stderr)
	}
	if res.Code == nil {
		t.Fatalf("child exit code = null (signal %v); want a code\nchild stderr:\n%s", res.Signal, res.Stderr)
	}
	return res
}

// replies returns the replies as compact JSON strings.
func (r nodeResult) replies() []string {
	out := make([]string, len(r.Replies))
	for i, m := range r.Replies {
		out[i] = string(m)
	}
	return out
}
