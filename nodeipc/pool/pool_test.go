package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// goWorker is the test binary as a Go pool worker.
func goWorker() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", err)
		return 3
	}
	state := map[string]string{}
	var mu sync.Mutex
	h := testHandlers(state)
	locked := func(f pool.Handler) pool.Handler {
		return func(ctx context.Context, req *pool.Request) (any, error) {
			if req.Method != "wait" {
				mu.Lock()
				defer mu.Unlock()
			}
			return f(ctx, req)
		}
	}
	for k, f := range h {
		h[k] = locked(f)
	}
	wait := h["wait"]
	h["wait"] = func(ctx context.Context, req *pool.Request) (any, error) {
		var key string
		req.Params(&key)
		req.Emit(ctx, "started")
		<-ctx.Done()
		mu.Lock()
		state[key] = "cancelled: " + ctx.Err().Error()
		mu.Unlock()
		_ = wait
		return nil, ctx.Err()
	}
	h["pid"] = func(context.Context, *pool.Request) (any, error) { return os.Getpid(), nil }
	h["crash"] = func(ctx context.Context, req *pool.Request) (any, error) {
		fmt.Fprintln(os.Stderr, "about to crash")
		fmt.Fprintln(os.Stderr, "crashing now")
		os.Exit(3)
		return nil, nil
	}
	// crashonce crashes unless the file it names exists, and creates it.
	h["crashonce"] = func(ctx context.Context, req *pool.Request) (any, error) {
		var path string
		req.Params(&path)
		if _, err := os.Stat(path); err == nil {
			return os.Getpid(), nil
		}
		os.WriteFile(path, nil, 0o600)
		os.Exit(4)
		return nil, nil
	}
	h["hang"] = func(ctx context.Context, req *pool.Request) (any, error) {
		req.Emit(ctx, "hanging")
		select {} // ignores cancellation
	}
	h["sleep"] = func(ctx context.Context, req *pool.Request) (any, error) {
		var ms int
		var v any
		req.Params(&ms, &v)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return v, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// spawn starts a grandchild that would run for a minute.
	h["spawn"] = func(ctx context.Context, req *pool.Request) (any, error) {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		go cmd.Wait()
		return cmd.Process.Pid, nil
	}
	h["print"] = func(ctx context.Context, req *pool.Request) (any, error) {
		var s string
		req.Params(&s)
		fmt.Println("out:", s)
		fmt.Fprintln(os.Stderr, "err:", s)
		return nil, nil
	}
	err = pool.Serve(context.Background(), ch, h, nil)
	ch.Close()
	if os.Getenv("STUBBORN") != "" {
		// Ignores the terminate message and SIGTERM: only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM)
		select {}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Serve:", err)
		return 1
	}
	return 0
}

var _ = nodetest.RegisterHelper("pool-worker", goWorker)

// silent never sends "ready".
var _ = nodetest.RegisterHelper("silent", func() int {
	time.Sleep(time.Minute)
	return 0
})

func workerCmd(env ...string) func(int) *exec.Cmd {
	return func(int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// GORACE: a race-enabled binary otherwise sleeps a second at exit.
		cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=pool-worker", "GORACE=atexit_sleep_ms=0")
		cmd.Env = append(cmd.Env, env...)
		return cmd
	}
}

func newPool(t *testing.T, o pool.Options) *pool.Pool {
	t.Helper()
	if o.Command == nil {
		o.Command = workerCmd()
	}
	p, err := pool.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPoolCalls(t *testing.T) {
	p := newPool(t, pool.Options{Size: 3, Concurrency: 4})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 600)
	for i := range 600 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum float64
			if err := p.Do(ctx, &pool.Call{Method: "add", Params: []any{i, 1000}, Result: &sum}); err != nil {
				errs <- err
				return
			}
			if sum != float64(i+1000) {
				errs <- fmt.Errorf("add(%d, 1000) = %v", i, sum)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A worker's error comes back as a *CallError with its properties.
	err := p.Do(ctx, &pool.Call{Method: "fail", Params: []any{"bad input"}})
	var ce *pool.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("Do(fail) = %v; want a CallError", err)
	}
	if code, _ := ce.Data.Get("code"); ce.Name != "TypeError" || ce.Message != "bad input" || code != "E_BAD" {
		t.Errorf("Do(fail) = %#v; want a TypeError CallError with code E_BAD", err)
	}
	// Progress events reach the caller in order, before the result.
	var steps []int
	var res string
	err = p.Do(ctx, &pool.Call{Method: "progress", Params: []any{5}, Result: &res, Progress: func(e pool.Event) {
		var v struct{ Step int }
		if err := e.Decode(&v); err != nil {
			t.Error(err)
		}
		steps = append(steps, v.Step)
	}})
	if err != nil || res != "done" || fmt.Sprint(steps) != "[0 1 2 3 4]" {
		t.Errorf("progress: err %v, result %q, steps %v", err, res, steps)
	}
	// A parameter that cannot be encoded fails the call, and only it.
	if err := p.Do(ctx, &pool.Call{Method: "echo", Params: []any{make(chan int)}}); !errors.Is(err, nodeipc.ErrInvalidMessage) {
		t.Errorf("Do(echo, a chan) = %v; want ErrInvalidMessage", err)
	}
	eventually(t, "all workers ready", func() bool { return p.Stats().Ready == 3 })
	s := p.Stats()
	if s.Calls != 601 || s.Failures != 2 || s.Workers != 3 || s.Ready != 3 || s.Queued != 0 || s.InFlight != 0 || s.LatencyP50 <= 0 || s.LatencyP99 < s.LatencyP50 {
		t.Errorf("Stats() = %+v", s)
	}
}

func TestPoolCrash(t *testing.T) {
	var out bytes.Buffer
	var outMu sync.Mutex
	p := newPool(t, pool.Options{Size: 2, Concurrency: 2, Output: lockedWriter{&outMu, &out}, RestartDelay: time.Millisecond})
	ctx := ctxT(t)
	var pid int
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
		t.Fatal(err)
	}
	err := p.Do(ctx, &pool.Call{Method: "crash"})
	var we *pool.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("Do(crash) = %v; want a *WorkerError", err)
	}
	if we.Reason != "exit status 3" || !strings.Contains(we.Worker, "pid ") ||
		len(we.Stderr) < 2 || we.Stderr[len(we.Stderr)-1] != "crashing now" {
		t.Errorf("WorkerError = %+v", we)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("WorkerError does not wrap the *exec.ExitError: %v", err)
	}
	// The pool recovers: both slots answer again.
	eventually(t, "a replacement worker", func() bool { s := p.Stats(); return s.Ready == 2 && s.Restarts == 1 })
	for i := range 20 {
		var sum float64
		if err := p.Do(ctx, &pool.Call{Method: "add", Params: []any{i, 1}, Result: &sum}); err != nil || sum != float64(i+1) {
			t.Fatalf("after crash: add = %v, %v", sum, err)
		}
	}
	outMu.Lock()
	defer outMu.Unlock()
	if !strings.Contains(out.String(), "stderr] crashing now\n") {
		t.Errorf("Output does not have the crashed worker's stderr:\n%s", out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestPoolOutputPrefix(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	p := newPool(t, pool.Options{Size: 1, Output: lockedWriter{&mu, &out}})
	var pid int
	ctx := ctxT(t)
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(ctx, &pool.Call{Method: "print", Params: []any{"hello"}}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		fmt.Sprintf("[worker 0 pid %d] out: hello\n", pid),
		fmt.Sprintf("[worker 0 pid %d stderr] err: hello\n", pid),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Output = %q; want a line %q", out.String(), want)
		}
	}
}

func TestPoolIdempotentRetry(t *testing.T) {
	p := newPool(t, pool.Options{Size: 2, RestartDelay: time.Millisecond})
	ctx := ctxT(t)
	marker := t.TempDir() + "/crashed"
	var pid int
	if err := p.Do(ctx, &pool.Call{Method: "crashonce", Params: []any{marker}, Result: &pid, Idempotent: true}); err != nil {
		t.Fatalf("idempotent call after a crash = %v; want it retried", err)
	}
	if pid == 0 {
		t.Error("no pid")
	}
	// Not marked idempotent: the caller sees the crash.
	marker2 := t.TempDir() + "/crashed"
	err := p.Do(ctx, &pool.Call{Method: "crashonce", Params: []any{marker2}})
	var we *pool.WorkerError
	if !errors.As(err, &we) || we.Reason != "exit status 4" {
		t.Errorf("Do(crashonce) = %v; want a WorkerError with exit status 4", err)
	}
}

func TestPoolCancel(t *testing.T) {
	p := newPool(t, pool.Options{Size: 1})
	ctx := ctxT(t)
	cctx, cancel := context.WithCancel(ctx)
	err := p.Do(cctx, &pool.Call{Method: "wait", Params: []any{"k1"}, Progress: func(e pool.Event) {
		cancel() // cancel once the handler runs
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do(cancelled) = %v; want context.Canceled", err)
	}
	// The next call on the (only) worker runs after the cleanup was
	// confirmed, so the handler's cancellation is visible.
	var state string
	if err := p.Do(ctx, &pool.Call{Method: "state", Params: []any{"k1"}, Result: &state}); err != nil {
		t.Fatal(err)
	}
	if state != "cancelled: context canceled" {
		t.Errorf("worker state = %q; want the handler cancelled", state)
	}
	// A deadline works the same way.
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer dcancel()
	if err := p.Do(dctx, &pool.Call{Method: "wait", Params: []any{"k2"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do(deadline) = %v; want DeadlineExceeded", err)
	}
	if err := p.Do(ctx, &pool.Call{Method: "state", Params: []any{"k2"}, Result: &state}); err != nil || state != "cancelled: context canceled" {
		t.Errorf("worker state = %q, %v", state, err)
	}
	if s := p.Stats(); s.Canceled != 2 || s.Restarts != 0 {
		t.Errorf("Stats() = %+v; want 2 cancelled calls and no restart", s)
	}
}

// TestPoolSendAccounting checks the count of bytes that may wait in a
// worker's send queue, which decides whether a request can be sent without
// risk of blocking: after calls that succeed, fail, are cancelled (and
// cleaned up) and carry large parameters, and once nothing is in flight, it
// is back to zero for every worker.
func TestPoolSendAccounting(t *testing.T) {
	p := newPool(t, pool.Options{Size: 2, Concurrency: 4, Channel: &nodeipc.Options{SendQueueSize: 64 << 10}})
	ctx := ctxT(t)
	big := strings.Repeat("x", 200<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	call := func(ctx context.Context, c *pool.Call, check func(error) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(p.Do(ctx, c)); err != nil {
				errs <- fmt.Errorf("%s: %w", c.Method, err)
			}
		}()
	}
	ok := func(err error) error { return err }
	for i := range 100 {
		call(ctx, &pool.Call{Method: "add", Params: []any{i, 1}}, ok)
		if i%10 == 0 {
			var echoed string
			call(ctx, &pool.Call{Method: "echo", Params: []any{big}, Result: &echoed}, func(err error) error {
				if err == nil && echoed != big {
					return errors.New("echoed a different string")
				}
				return err
			})
			call(ctx, &pool.Call{Method: "fail", Params: []any{"x"}}, func(err error) error {
				if _, isCE := err.(*pool.CallError); !isCE {
					return fmt.Errorf("got %v; want a CallError", err)
				}
				return nil
			})
			cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			call(cctx, &pool.Call{Method: "wait", Params: []any{fmt.Sprint(i)}}, func(err error) error {
				if !errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("got %v; want DeadlineExceeded", err)
				}
				return nil
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	eventually(t, "no call in flight and no cleanup pending", func() bool {
		for _, n := range pool.Owed(p) {
			if n != 0 {
				return false
			}
		}
		return p.Stats().InFlight == 0
	})
	if s := p.Stats(); s.Restarts != 0 || s.Workers != 2 {
		t.Errorf("Stats() = %+v; want both workers, never restarted", s)
	}
}

func TestPoolHungWorker(t *testing.T) {
	p := newPool(t, pool.Options{Size: 1, Concurrency: 2, CleanupTimeout: 100 * time.Millisecond, RestartDelay: time.Millisecond})
	ctx := ctxT(t)
	var pid int
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
		t.Fatal(err)
	}
	// A call in flight on the worker that hangs.
	other := make(chan error, 1)
	go func() {
		other <- p.Do(ctx, &pool.Call{Method: "sleep", Params: []any{60000, nil}})
	}()
	hctx, cancel := context.WithCancel(ctx)
	err := p.Do(hctx, &pool.Call{Method: "hang", Progress: func(pool.Event) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do(hang) = %v", err)
	}
	err = <-other
	var we *pool.WorkerError
	if !errors.As(err, &we) || !strings.Contains(we.Reason, "killed by the pool: did not confirm the cleanup") {
		t.Fatalf("other call = %v; want a WorkerError naming the hang", err)
	}
	eventually(t, "the hung worker to be gone", func() bool { return !alive(pid) })
	var pid2 int
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid2}); err != nil || pid2 == pid {
		t.Errorf("after hang: pid %d (was %d), %v", pid2, pid, err)
	}
}

func TestPoolRecycle(t *testing.T) {
	p := newPool(t, pool.Options{Size: 1, MaxCalls: 3})
	ctx := ctxT(t)
	pids := map[int]int{}
	var order []int
	for range 9 {
		var pid int
		if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
			t.Fatal(err)
		}
		pids[pid]++
		order = append(order, pid)
	}
	if len(pids) != 3 {
		t.Errorf("pids %v; want 3 workers serving 3 calls each", order)
	}
	for pid, n := range pids {
		if n != 3 {
			t.Errorf("worker %d served %d calls; want 3", pid, n)
		}
	}
	if s := p.Stats(); s.Recycled != 3 || s.Restarts != 0 {
		t.Errorf("Stats() = %+v; want 3 recycled", s)
	}
	p.Close()
	for pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d still alive after Close", pid)
		}
	}
}

func TestPoolLifetime(t *testing.T) {
	p := newPool(t, pool.Options{Size: 1, MaxLifetime: 100 * time.Millisecond})
	ctx := ctxT(t)
	var first int
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &first}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a recycled worker", func() bool { return p.Stats().Recycled >= 1 && !alive(first) })
	var pid int
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil || pid == first {
		t.Errorf("pid %d (first %d), %v", pid, first, err)
	}
}

func TestPoolQueueBackpressure(t *testing.T) {
	p := newPool(t, pool.Options{Size: 1, QueueSize: 1})
	ctx := ctxT(t)
	started := make(chan struct{})
	bctx, release := context.WithCancel(ctx)
	// One channel per call: once the blocked call is cancelled, the queued
	// one may finish first.
	blocked, queued := make(chan error, 1), make(chan error, 1)
	go func() {
		blocked <- p.Do(bctx, &pool.Call{Method: "wait", Params: []any{"b"}, Progress: func(pool.Event) { close(started) }})
	}()
	<-started
	go func() { queued <- p.Do(ctx, &pool.Call{Method: "add", Params: []any{1, 1}}) }()
	eventually(t, "a queued call", func() bool { return p.Stats().Queued == 1 })
	// The queue is full: a third call waits for room until its context
	// ends.
	sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := p.Do(sctx, &pool.Call{Method: "add", Params: []any{1, 1}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do with a full queue = %v; want DeadlineExceeded", err)
	}
	release()
	if err := <-blocked; !errors.Is(err, context.Canceled) {
		t.Errorf("blocked call = %v", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("queued call = %v", err)
	}
}

func TestPoolCloseLadder(t *testing.T) {
	p := newPool(t, pool.Options{
		Size: 2, Command: workerCmd("STUBBORN=1"),
		StopTimeout: 50 * time.Millisecond, KillTimeout: 50 * time.Millisecond,
	})
	ctx := ctxT(t)
	pids := map[int]bool{}
	for range 10 {
		var pid int
		if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
			t.Fatal(err)
		}
		pids[pid] = true
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	for pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d survived Close", pid)
		}
	}
	if err := p.Do(ctx, &pool.Call{Method: "pid"}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Do after Close = %v; want net.ErrClosed", err)
	}
}

// TestPoolKillsGrandchildren: what a worker leaves behind in its process
// group goes with it.
func TestPoolKillsGrandchildren(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	p := newPool(t, pool.Options{Size: 1})
	var pid, grandchild int
	ctx := ctxT(t)
	if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(ctx, &pool.Call{Method: "spawn", Result: &grandchild}); err != nil {
		t.Fatal(err)
	}
	if !alive(grandchild) {
		t.Fatalf("grandchild %d not running", grandchild)
	}
	p.Close()
	eventually(t, "the worker and its grandchild to be gone", func() bool { return !alive(pid) && !alive(grandchild) })
}

func TestPoolStartTimeout(t *testing.T) {
	p := newPool(t, pool.Options{
		Size: 1, StartTimeout: 50 * time.Millisecond, RestartDelay: time.Millisecond,
		Command: func(int) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=silent")
			return cmd
		},
	})
	eventually(t, "silent workers to be replaced", func() bool { return p.Stats().Restarts >= 2 })
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Millisecond)
	defer cancel()
	if err := p.Do(ctx, &pool.Call{Method: "pid"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do on a pool without ready workers = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := pool.New(pool.Options{}); err == nil {
		t.Error("New without Command = nil error")
	}
	_, err := pool.New(pool.Options{Size: 2, Command: func(slot int) *exec.Cmd {
		if slot == 1 {
			return exec.Command("/nonexistent/worker")
		}
		return workerCmd()(slot)
	}})
	if err == nil || !strings.Contains(err.Error(), "start worker 1") {
		t.Errorf("New with a bad command = %v", err)
	}
}

// TestPoolRecycleConcurrent: with several calls in flight per worker, a
// worker still gets exactly MaxCalls calls.
func TestPoolRecycleConcurrent(t *testing.T) {
	p := newPool(t, pool.Options{Size: 2, Concurrency: 4, MaxCalls: 5})
	ctx := ctxT(t)
	var mu sync.Mutex
	pids := map[int]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pid int
			if err := p.Do(ctx, &pool.Call{Method: "pid", Result: &pid}); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			pids[pid]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	for pid, n := range pids {
		if n > 5 {
			t.Errorf("worker %d served %d calls; MaxCalls is 5", pid, n)
		}
	}
	if len(pids) < 8 {
		t.Errorf("%d workers served 40 calls; want at least 8", len(pids))
	}
}
