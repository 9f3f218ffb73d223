//go:build linux

package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// gone reports whether pid no longer runs: it does not exist, or it is a
// zombie waiting for a parent that does not reap it.
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...; comm may contain spaces and parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// waitGone waits up to d for every pid to be gone and returns those that
// are not.
func waitGone(d time.Duration, pids ...int) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, pid := range pids {
			if !gone(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type blockInfo struct {
	Pid  int
	Kind string
}

// blockAll starts one "block" call per worker (the pool is idle, so the
// least-loaded dispatch gives each worker one) and returns, once every
// call runs, what each reported, its cancel function and its result.
func blockAll(t *testing.T, ctx context.Context, p *pool.Pool, n int, dir string) ([]blockInfo, []context.CancelFunc, []chan error, []string) {
	t.Helper()
	infos := make([]blockInfo, n)
	cancels := make([]context.CancelFunc, n)
	results := make([]chan error, n)
	markers := make([]string, n)
	var running sync.WaitGroup
	running.Add(n)
	for i := range n {
		cctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		results[i] = make(chan error, 1)
		markers[i] = filepath.Join(dir, fmt.Sprintf("marker-%d-%d", time.Now().UnixNano(), i))
		var once sync.Once
		go func() {
			results[i] <- p.Do(cctx, &pool.Call{Method: "block", Params: []any{markers[i]}, Progress: func(e pool.Event) {
				once.Do(func() {
					if err := e.Decode(&infos[i]); err != nil {
						t.Error(err)
					}
					running.Done()
				})
			}})
		}()
	}
	running.Wait()
	return infos, cancels, results, markers
}

// blockEach is blockAll until the n calls run on n distinct workers, two
// of each kind: a cancelled call's worker stays busy until it confirms the
// cleanup, after InFlight is already 0, so a round may put two calls on one
// worker; such a round is cancelled and tried again.
func blockEach(t *testing.T, ctx context.Context, p *pool.Pool, n int, dir string) ([]blockInfo, []context.CancelFunc, []chan error, []string) {
	t.Helper()
	for try := 0; ; try++ {
		infos, cancels, results, markers := blockAll(t, ctx, p, n, dir)
		if k := kinds(infos); k["node"] == n/2 && k["go"] == n/2 && k["distinct"] == n {
			return infos, cancels, results, markers
		}
		if try == 20 {
			t.Fatalf("block calls keep landing on the same workers: %v", infos)
		}
		for i := range cancels {
			cancels[i]()
			<-results[i]
		}
		waitFor(t, "the cancelled calls to be cleaned up", func() bool { return p.Stats().InFlight == 0 })
		time.Sleep(50 * time.Millisecond) // let the workers confirm their cleanups
	}
}

func kinds(infos []blockInfo) map[string]int {
	m := map[string]int{}
	pids := map[int]bool{}
	for _, in := range infos {
		m[in.Kind]++
		pids[in.Pid] = true
	}
	m["distinct"] = len(pids)
	return m
}

// TestPoolMixedNodeAndGo runs a Go pool of 2 Node workers and 2 Go workers:
// 10,000 calls of mixed durations, cancellation, SIGKILL of workers in the
// middle of calls, and Close.
func TestPoolMixedNodeAndGo(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		dir := t.TempDir()
		out := &nodetest.SyncBuffer{}
		p, err := pool.New(pool.Options{
			Size:         4,
			Concurrency:  4,
			QueueSize:    64,
			RestartDelay: 10 * time.Millisecond,
			Output:       out,
			Command: func(slot int) *exec.Cmd {
				if slot < 2 {
					return nodeipc.NodeCommand(node, nil, nodetest.JS("pool/node-worker.js"))
				}
				return goWorkerCmd("")
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		seen := map[int]bool{} // every worker pid observed

		// 10,000 calls with mixed durations; every result arrives once and
		// matches its call.
		const calls = 10000
		counts := make([]atomic.Int32, calls)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= calls {
						return
					}
					ms := []int{0, 0, 0, 0, 1, 3}[i%6]
					var got struct{ I int }
					err := p.Do(ctx, &pool.Call{Method: "sleep", Params: []any{ms, map[string]int{"i": i}}, Result: &got})
					if err != nil {
						errs <- fmt.Errorf("call %d: %w", i, err)
						return
					}
					if got.I < 0 || got.I >= calls {
						errs <- fmt.Errorf("call %d: result %d out of range", i, got.I)
						return
					}
					if got.I != i {
						errs <- fmt.Errorf("call %d got the result of call %d", i, got.I)
					}
					counts[got.I].Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for i := range counts {
			if n := counts[i].Load(); n != 1 {
				t.Fatalf("result %d arrived %d times", i, n)
			}
		}
		if s := p.Stats(); s.Calls != calls || s.Failures != 0 || s.Restarts != 0 {
			t.Fatalf("after %d calls: Stats() = %+v", calls, s)
		}

		// Cancellation reaches every worker, Node and Go: the handler sees
		// it (and writes its marker), the caller gets context.Canceled.
		infos, cancels, results, markers := blockAll(t, ctx, p, 4, dir)
		if k := kinds(infos); k["node"] != 2 || k["go"] != 2 || k["distinct"] != 4 {
			t.Fatalf("block calls ran on %v; want one per worker", infos)
		}
		for i := range infos {
			seen[infos[i].Pid] = true
			cancels[i]()
			if err := <-results[i]; !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled call on %+v = %v; want context.Canceled", infos[i], err)
			}
		}
		for i, m := range markers {
			waitFor(t, fmt.Sprintf("the cancellation to reach %+v", infos[i]), func() bool {
				_, err := os.Stat(m)
				return err == nil
			})
		}

		// SIGKILL one Node and one Go worker in the middle of a call: only
		// their calls fail, with the reason; the others keep running.
		waitFor(t, "the cancelled calls to be cleaned up", func() bool { return p.Stats().InFlight == 0 })
		infos, cancels, results, _ = blockEach(t, ctx, p, 4, dir)
		killed := map[int]bool{}
		for _, kind := range []string{"node", "go"} {
			for i, in := range infos {
				if in.Kind == kind {
					killed[i] = true
					if err := syscall.Kill(in.Pid, syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
		}
		for i := range infos {
			seen[infos[i].Pid] = true
			if !killed[i] {
				continue
			}
			err := <-results[i]
			var we *pool.WorkerError
			if !errors.As(err, &we) || we.Reason != "signal: killed" || !strings.Contains(we.Worker, "pid "+strconv.Itoa(infos[i].Pid)) {
				t.Errorf("call on killed %+v = %v; want a WorkerError naming it, with signal: killed", infos[i], err)
			}
		}
		for i := range infos {
			if killed[i] {
				continue
			}
			select {
			case err := <-results[i]:
				t.Errorf("call on %+v ended with %v when another worker was killed", infos[i], err)
			default:
			}
			cancels[i]()
			if err := <-results[i]; !errors.Is(err, context.Canceled) {
				t.Errorf("call on %+v = %v", infos[i], err)
			}
		}
		// The pool recovers: two replacements, all four workers answer.
		waitFor(t, "replacement workers", func() bool { s := p.Stats(); return s.Ready == 4 && s.Restarts == 2 })
		for i := range 200 {
			var sum float64
			if err := p.Do(ctx, &pool.Call{Method: "add", Params: []any{i, 1}, Result: &sum}); err != nil || sum != float64(i+1) {
				t.Fatalf("after the kills: add(%d, 1) = %v, %v", i, sum, err)
			}
		}
		waitFor(t, "the cancelled calls to be cleaned up", func() bool { return p.Stats().InFlight == 0 })
		infos, cancels, results, _ = blockEach(t, ctx, p, 4, dir)
		for i := range infos {
			seen[infos[i].Pid] = true
			cancels[i]()
			<-results[i]
		}

		// Close leaves no process behind.
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		var pids []int
		for pid := range seen {
			pids = append(pids, pid)
		}
		if len(pids) != 6 {
			t.Errorf("saw %d worker pids; want 6 (4 + 2 replacements)", len(pids))
		}
		for _, pid := range pids {
			if !gone(pid) {
				t.Errorf("worker pid %d still running after Close", pid)
			}
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})
}

// TestPoolDrivesWorkerpoolWorker: a Node worker written with the real
// workerpool.worker() runs unmodified in a Go Pool.
func TestPoolDrivesWorkerpoolWorker(t *testing.T) {
	nodetest.RequireModule(t, "workerpool")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		p, err := pool.New(pool.Options{
			Size: 2,
			Command: func(int) *exec.Cmd {
				return nodeipc.NodeCommand(node, nil, nodetest.JS("pool/wp-worker.js"))
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var sum float64
		if err := p.Do(ctx, &pool.Call{Method: "add", Params: []any{40, 2}, Result: &sum}); err != nil || sum != 42 {
			t.Errorf("add = %v, %v", sum, err)
		}
		err = p.Do(ctx, &pool.Call{Method: "fail", Params: []any{"boom"}})
		var ce *pool.CallError
		if !errors.As(err, &ce) || ce.Name != "TypeError" || ce.Message != "boom" || dataOf(ce, "code") != "E_BAD" || !strings.Contains(ce.Stack, "wp-worker.js") {
			t.Errorf("fail = %#v; want the TypeError with its code and stack", err)
		}
		var steps []string
		var res string
		err = p.Do(ctx, &pool.Call{Method: "progress", Params: []any{3}, Result: &res, Progress: func(e pool.Event) {
			steps = append(steps, e.String())
		}})
		if err != nil || res != "done" || strings.Join(steps, ",") != `{"step":0},{"step":1},{"step":2}` {
			t.Errorf("progress = %q, %v, events %v", res, err, steps)
		}
		var pids []int
		for range 4 {
			var pid int
			if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		// Cancellation: workerpool's worker, without abort listeners,
		// answers the cleanup request with an error; by workerpool's rule
		// the pool then retires that worker (terminate message) and starts
		// a fresh one.
		cctx, ccancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer ccancel()
		if err := p.Do(cctx, &pool.Call{Method: "sleep", Params: []any{60000, nil}}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("cancelled sleep = %v", err)
		}
		waitFor(t, "the worker to be retired and replaced", func() bool { s := p.Stats(); return s.Recycled == 1 && s.Ready == 2 && s.Workers == 2 })
		for range 4 {
			var pid int
			if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		for _, pid := range pids {
			if !gone(pid) {
				t.Errorf("workerpool worker %d still running after Close", pid)
			}
		}
	})
}

// runNode runs a testdata/pool runner script with the test binary as its Go
// worker and decodes the JSON object it prints.
func runNode(t *testing.T, node, script string, args ...string) (map[string]any, string) {
	t.Helper()
	trace := t.TempDir()
	cmd := exec.Command(node, append([]string{nodetest.JS(script), os.Args[0]}, args...)...)
	cmd.Env = goWorkerEnv(trace)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
		}
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish\nstdout: %s\nstderr: %s", script, stdout.String(), stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s printed %q: %v\nstderr: %s", script, stdout.String(), err, stderr.String())
	}
	return out, trace
}

// checkTrace asserts that the Go workers a Node parent started are gone,
// and that all but `crashed` of them ended cleanly (Serve returned nil,
// exit 0).
func checkTrace(t *testing.T, trace string, wantWorkers, crashed int) {
	t.Helper()
	entries, err := os.ReadDir(trace)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != wantWorkers {
		t.Errorf("%d Go workers ran; want %d", len(entries), wantWorkers)
	}
	clean := 0
	for _, e := range entries {
		pid, _ := strconv.Atoi(e.Name())
		if left := waitGone(5*time.Second, pid); len(left) > 0 {
			t.Errorf("Go worker %d still running", pid)
		}
		b, _ := os.ReadFile(filepath.Join(trace, e.Name()))
		switch string(b) {
		case "started\nexit 0\n":
			clean++
		case "started\n":
		default:
			t.Errorf("Go worker %d: trace %q", pid, b)
		}
	}
	if clean != wantWorkers-crashed {
		t.Errorf("%d of %d Go workers exited cleanly; want %d", clean, len(entries), wantWorkers-crashed)
	}
}

func expect(t *testing.T, out map[string]any, key string, want any) {
	t.Helper()
	got := out[key]
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	var g, w any
	json.Unmarshal(gb, &g)
	json.Unmarshal(wb, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s; want %s", key, gb, wb)
	}
}

// TestGoWorkerUnderWorkerpool: the real workerpool package drives the Go
// worker as a process worker (forkOpts.execPath).
func TestGoWorkerUnderWorkerpool(t *testing.T) {
	nodetest.RequireModule(t, "workerpool")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		marker := filepath.Join(t.TempDir(), "cancelled")
		out, trace := runNode(t, node, "pool/run-workerpool.js", marker)
		expect(t, out, "add", 5)
		expect(t, out, "echoOK", true)
		expect(t, out, "proxyMethods", []string{"add", "block", "crash", "default", "echo", "fail", "failWith", "kind", "pid", "progress", "progressWith", "sleep"})
		expect(t, out, "proxyAdd", 42)
		expect(t, out, "error", map[string]any{"isError": true, "ctor": "Error", "name": "TypeError", "message": "boom", "code": "E_BAD", "hasStack": true})
		expect(t, out, "unknown", `Unknown method "nope"`)
		expect(t, out, "progress", "done")
		expect(t, out, "events", []any{map[string]int{"step": 0}, map[string]int{"step": 1}, map[string]int{"step": 2}})
		expect(t, out, "cancel", "CancellationError")
		expect(t, out, "timeout", "TimeoutError")
		expect(t, out, "afterCancel", 2)
		expect(t, out, "workers", 2)
		if b, err := os.ReadFile(marker); err != nil || string(b) != "cancelled" {
			t.Errorf("the cancelled handler did not run its cleanup: %q, %v", b, err)
		}
		checkTrace(t, trace, 2, 0)
	})
}

// TestGoWorkerUnderWorkerFarm: the real worker-farm package drives the Go
// worker (workerOptions.execPath).
func TestGoWorkerUnderWorkerFarm(t *testing.T) {
	nodetest.RequireModule(t, "worker-farm")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		out, trace := runNode(t, node, "pool/run-worker-farm.js")
		expect(t, out, "add", 5)
		expect(t, out, "echoOK", true)
		expect(t, out, "error", map[string]any{"isError": true, "ctor": "TypeError", "type": "TypeError", "message": "boom", "code": "E_BAD", "hasStack": true})
		expect(t, out, "exits", []any{map[string]any{"code": 0, "signal": nil}, map[string]any{"code": 0, "signal": nil}})
		checkTrace(t, trace, 2, 0)
	})
}

// TestGoWorkerUnderJestWorker: the real jest-worker package drives the Go
// worker (forkOptions.execPath, serialization 'json').
func TestGoWorkerUnderJestWorker(t *testing.T) {
	nodetest.RequireModule(t, "jest-worker")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, serialization := range []string{"json", "default"} { // default: advanced
			t.Run(serialization, func(t *testing.T) { jestWorker(t, node, serialization) })
		}
	})
}

func jestWorker(t *testing.T, node, serialization string) {
	{
		out, trace := runNode(t, node, "pool/run-jest-worker.js", serialization)
		expect(t, out, "add", 5)
		expect(t, out, "echoOK", true)
		expect(t, out, "error", map[string]any{"isError": true, "ctor": "TypeError", "type": "TypeError", "message": "boom", "code": "E_BAD", "hasStack": true})
		expect(t, out, "progress", "done")
		expect(t, out, "events", []any{map[string]int{"step": 0}, map[string]int{"step": 1}, map[string]int{"step": 2}})
		expect(t, out, "end", map[string]bool{"forceExited": false})
		checkTrace(t, trace, 2, 0)
	}
}

// TestNodeClientForksGoWorker: @nodeipc/node's fork() (js/) drives the Go
// worker from a Node parent.
func TestNodeClientForksGoWorker(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		marker := filepath.Join(t.TempDir(), "cancelled")
		out, trace := runNode(t, node, "pool/run-client.js", marker)
		expect(t, out, "pidOK", true)
		expect(t, out, "add", 5)
		expect(t, out, "echoOK", true)
		expect(t, out, "error", map[string]any{"isError": true, "ctor": "TypeError", "name": "TypeError", "message": "boom", "code": "E_BAD", "hasStack": true})
		expect(t, out, "progress", "done")
		expect(t, out, "events", []any{map[string]int{"step": 0}, map[string]int{"step": 1}, map[string]int{"step": 2}})
		expect(t, out, "cancel", "AbortError")
		expect(t, out, "timeout", "TimeoutError")
		expect(t, out, "afterCancel", 2)
		expect(t, out, "exit", map[string]any{"code": 0, "signal": nil})
		expect(t, out, "crash", "ERR_WORKER_EXITED")
		expect(t, out, "crashExit", map[string]any{"code": 3, "signal": nil})
		expect(t, out, "spawnError", "ENOENT")
		// The client rejects at once; the worker cleans up on its own time.
		waitFor(t, "the cancelled handler's cleanup", func() bool {
			b, err := os.ReadFile(marker)
			return err == nil && string(b) == "cancelled"
		})
		checkTrace(t, trace, 2, 1)
	})
}

// TestPoolParentKilled: when the Go parent of a pool is killed with
// SIGKILL, its Node and Go workers exit too.
func TestPoolParentKilled(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=pool-parent", "NODEIPC_PARENT_NODE="+node, "GORACE=atexit_sleep_ms=0")
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("parent printed %q: %v", line, err)
		}
		var pids map[string]int
		if err := json.Unmarshal([]byte(line), &pids); err != nil || pids["node"] == 0 || pids["go"] == 0 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("parent printed %q: %v", line, err)
		}
		for kind, pid := range pids {
			if gone(pid) {
				t.Fatalf("%s worker %d not running before the parent is killed", kind, pid)
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if left := waitGone(time.Second, pids["node"], pids["go"]); len(left) > 0 {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("workers %v still running a second after their parent was killed (pids %v)", left, pids)
		}
	})
}

// TestNodeHelperWorkerUnderWorkerpool: a Node worker written with
// @nodeipc/node (js/) is also a drop-in workerpool process worker.
func TestNodeHelperWorkerUnderWorkerpool(t *testing.T) {
	nodetest.RequireModule(t, "workerpool")
	nodetest.ForEach(t, func(t *testing.T, node string) {
		marker := filepath.Join(t.TempDir(), "cancelled")
		out, _ := runNode(t, node, "pool/run-workerpool-node.js", marker)
		expect(t, out, "add", 5)
		expect(t, out, "error", map[string]any{"isError": true, "name": "TypeError", "message": "boom", "code": "E_BAD"})
		expect(t, out, "progress", "done")
		expect(t, out, "events", []any{map[string]int{"step": 0}, map[string]int{"step": 1}})
		expect(t, out, "cancel", "CancellationError")
		expect(t, out, "samePid", true)
		expect(t, out, "exit", map[string]any{"code": 0, "signal": nil})
		if b, err := os.ReadFile(marker); err != nil || string(b) != "cancelled" {
			t.Errorf("the cancelled method did not see its abort signal: %q, %v", b, err)
		}
	})
}
