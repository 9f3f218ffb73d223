package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// The test binary doubles as the pool's Go worker when
// NODEIPC_POOL_CLI_WORKER is set (checked in init, before any TestMain).
func init() {
	if os.Getenv("NODEIPC_POOL_CLI_WORKER") == "1" {
		os.Exit(poolTestWorker())
	}
}

func poolTestWorker() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	err = pool.Serve(context.Background(), ch, map[string]pool.Handler{
		"add": func(ctx context.Context, req *pool.Request) (any, error) {
			var a, b float64
			err := req.Params(&a, &b)
			return a + b, err
		},
		"sleep": func(ctx context.Context, req *pool.Request) (any, error) {
			var ms int
			var v any
			req.Params(&ms, &v)
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return v, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"fail": func(ctx context.Context, req *pool.Request) (any, error) {
			return nil, &pool.CallError{Name: "RangeError", Message: "out of range"}
		},
		"crash": func(ctx context.Context, req *pool.Request) (any, error) {
			fmt.Fprintln(os.Stderr, "worker crashing")
			os.Exit(3)
			return nil, nil
		},
	}, nil)
	ch.Close()
	if err != nil {
		return 1
	}
	return 0
}

func poolTestEnv(t *testing.T) {
	t.Setenv("NODEIPC_POOL_CLI_WORKER", "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0") // a race binary sleeps at exit otherwise
}

func runPoolTest(t *testing.T, cfg poolConfig, input string) (code int, out []map[string]any, stderr string) {
	t.Helper()
	var stdout, errBuf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = runPool(ctx, cfg, strings.NewReader(input), &stdout, &errBuf)
	for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return code, out, errBuf.String()
}

func TestPoolCommandOrdered(t *testing.T) {
	poolTestEnv(t)
	var in strings.Builder
	for i := range 100 {
		// Later calls are quicker, so completion order differs from input
		// order.
		fmt.Fprintf(&in, `{"id":%d,"method":"sleep","params":[%d,%d]}`+"\n", i, (100-i)%7, i)
	}
	code, out, stderr := runPoolTest(t, poolConfig{workerSet: workerSet{Workers: 3, Concurrency: 4, Args: []string{os.Args[0]}}}, in.String())
	if code != poolExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if len(out) != 100 {
		t.Fatalf("%d results; want 100", len(out))
	}
	for i, m := range out {
		if m["id"] != float64(i) || m["result"] != float64(i) {
			t.Errorf("line %d = %v; want id and result %d", i, m, i)
		}
	}
	if !strings.Contains(stderr, "nodeipc pool: 100 calls, 100 ok, 0 failed") {
		t.Errorf("summary missing from stderr:\n%s", stderr)
	}
}

func TestPoolCommandFailures(t *testing.T) {
	poolTestEnv(t)
	input := strings.Join([]string{
		`{"method":"add","params":[1,2]}`,
		``,
		`{"id":"x","method":"fail"}`,
		`not json`,
		`{"id":"c","method":"crash"}`,
		`{"method":"nope"}`,
		`{"id":"t","method":"sleep","params":[60000]}`,
		`{"method":"add","params":[2,2]}`,
	}, "\n")
	code, out, stderr := runPoolTest(t, poolConfig{workerSet: workerSet{Workers: 2, Concurrency: 1, Args: []string{os.Args[0]}}, Timeout: time.Second}, input)
	if code != poolExitFailed {
		t.Errorf("exit %d; want %d; stderr:\n%s", code, poolExitFailed, stderr)
	}
	if len(out) != 7 {
		t.Fatalf("%d results; want 7: %v", len(out), out)
	}
	errOf := func(i int) map[string]any {
		e, _ := out[i]["error"].(map[string]any)
		if e == nil {
			t.Errorf("line %d = %v; want an error", i, out[i])
			return map[string]any{}
		}
		return e
	}
	if out[0]["id"] != float64(1) || out[0]["result"] != float64(3) {
		t.Errorf("line 0 = %v", out[0])
	}
	if e := errOf(1); out[1]["id"] != "x" || e["name"] != "RangeError" || e["message"] != "out of range" {
		t.Errorf("line 1 = %v", out[1])
	}
	if e := errOf(2); out[2]["id"] != float64(4) || e["name"] != "SyntaxError" {
		t.Errorf("line 2 = %v", out[2])
	}
	if e := errOf(3); out[3]["id"] != "c" || e["name"] != "WorkerError" || e["reason"] != "exit status 3" ||
		fmt.Sprint(e["stderr"]) != "[worker crashing]" {
		t.Errorf("line 3 = %v", out[3])
	}
	if e := errOf(4); out[4]["id"] != float64(6) || e["message"] != `Unknown method "nope"` {
		t.Errorf("line 4 = %v", out[4])
	}
	if e := errOf(5); out[5]["id"] != "t" || e["name"] != "TimeoutError" {
		t.Errorf("line 5 = %v", out[5])
	}
	if out[6]["id"] != float64(8) || out[6]["result"] != float64(4) {
		t.Errorf("line 6 = %v", out[6])
	}
	if !strings.Contains(stderr, "stderr] worker crashing") || !strings.Contains(stderr, "7 calls, 2 ok, 5 failed; 1 worker restarts") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestPoolCommandUnordered(t *testing.T) {
	poolTestEnv(t)
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, `{"method":"sleep","params":[%d,%d]}`+"\n", (40-i)%5, i)
	}
	code, out, stderr := runPoolTest(t, poolConfig{workerSet: workerSet{Workers: 2, Concurrency: 8, Args: []string{os.Args[0]}}, Unordered: true}, in.String())
	if code != poolExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var got []int
	for _, m := range out {
		if m["id"] != m["result"].(float64)+1 {
			t.Errorf("result %v does not match its line", m)
		}
		got = append(got, int(m["result"].(float64)))
	}
	sort.Ints(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("results %v; want each of 0..39 once", got)
		}
	}
}

// TestPoolCommandCLI runs the command through urfave/cli: flags, the "--"
// separator and the exit status.
func TestPoolCommandCLI(t *testing.T) {
	poolTestEnv(t)
	run := func(stdin string, args ...string) (error, string, string) {
		var stdout, stderr bytes.Buffer
		app := &cli.App{
			Name:           "nodeipc",
			Commands:       []*cli.Command{poolCommand()},
			Reader:         strings.NewReader(stdin),
			Writer:         &stdout,
			ErrWriter:      &stderr,
			ExitErrHandler: func(*cli.Context, error) {},
		}
		err := app.Run(append([]string{"nodeipc", "pool"}, args...))
		return err, stdout.String(), stderr.String()
	}
	err, stdout, stderr := run(`{"method":"add","params":[20,22]}`+"\n", "-n", "1", "--", os.Args[0], "ignored-arg")
	if err != nil || stdout != `{"id":1,"result":42}`+"\n" {
		t.Errorf("pool add = %v, stdout %q, stderr %s", err, stdout, stderr)
	}
	err, _, _ = run(`{"method":"fail"}`+"\n", "--workers=1", "--", os.Args[0])
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != poolExitFailed {
		t.Errorf("a failed call: err %v; want exit status %d", err, poolExitFailed)
	}
	err, _, stderr = run("", "-n", "1")
	if !errors.As(err, &ec) || ec.ExitCode() != poolExitSetup || !strings.Contains(stderr, "no COMMAND") {
		t.Errorf("no command: err %v, stderr %q", err, stderr)
	}
	err, _, _ = run("", "--serialization", "yaml", "--", os.Args[0])
	if !errors.As(err, &ec) || ec.ExitCode() != poolExitSetup {
		t.Errorf("bad serialization: err %v", err)
	}
	err, _, stderr = run("", "-n", "1", "--", "/nonexistent/worker")
	if !errors.As(err, &ec) || ec.ExitCode() != poolExitSetup || !strings.Contains(stderr, "start worker 0") {
		t.Errorf("bad command: err %v, stderr %q", err, stderr)
	}
}

// TestPoolCommandNodeWorkers runs the command over Node workers written with
// @nodeipc/node (js/).
func TestPoolCommandNodeWorkers(t *testing.T) {
	node := nodetest.System(t)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "interop", "testdata", "pool", "node-worker.js")
	input := `{"method":"add","params":[1,2]}` + "\n" + `{"method":"fail","params":["bad"]}` + "\n" + `{"method":"progress","params":[2]}` + "\n"
	code, out, stderr := runPoolTest(t, poolConfig{workerSet: workerSet{Workers: 2, Concurrency: 2, Args: []string{node, script}}}, input)
	if code != poolExitFailed || len(out) != 3 {
		t.Fatalf("exit %d, %v; stderr:\n%s", code, out, stderr)
	}
	if out[0]["result"] != float64(3) || out[2]["result"] != "done" {
		t.Errorf("results %v", out)
	}
	if e, _ := out[1]["error"].(map[string]any); e == nil || e["name"] != "TypeError" || e["code"] != "E_BAD" {
		t.Errorf("error %v", out[1])
	}
}
