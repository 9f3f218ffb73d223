package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// poolSize is the number of workers in every pool.
const poolSize = 2

// config is one pool and its workers.
type config struct {
	Name    string `json:"name"`
	Pool    string `json:"pool"`
	Workers string `json:"workers"`
	// Baseline marks the configuration every ratio is relative to.
	Baseline bool `json:"baseline,omitempty"`

	// start starts the pool and returns it warmed up, with every worker
	// ready.
	start func(ctx context.Context, b *bench) (runningPool, error) `json:"-"`
}

// runningPool is a started configuration.
type runningPool interface {
	// firstAnswer is the time from creating the pool to the first answer.
	firstAnswer() time.Duration
	// pids are the parent's and the workers' process ids, for CPU time.
	pids() (parent int, workers []int)
	// run makes n calls of method, all outstanding at once, checks the
	// results and returns the time from the first submission to the last
	// answer.
	run(ctx context.Context, method string, n int) (time.Duration, error)
	close() error
}

// allConfigs lists the configurations, the baseline first.
func allConfigs() []*config {
	return []*config{
		{Name: "workerpool>node", Pool: "workerpool (interop/testdata/bench/pool/driver.js)", Workers: "Node, workerpool.worker() (interop/testdata/bench/pool/wp-worker.js)", Baseline: true,
			start: func(ctx context.Context, b *bench) (runningPool, error) { return startDriver(ctx, b, "node", "") }},
		{Name: "workerpool>go", Pool: "workerpool (interop/testdata/bench/pool/driver.js)", Workers: "Go, pool.Serve (forkOpts.execPath)",
			start: func(ctx context.Context, b *bench) (runningPool, error) { return startDriver(ctx, b, "go", b.goWorker) }},
		{Name: "workerpool>floor", Pool: "workerpool (interop/testdata/bench/pool/driver.js)", Workers: "the floor: a Go program without the nodeipc library, blocking reads, encoding/json (interop/bench/poolbench/floorworker)",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startDriver(ctx, b, "go", b.floorWorker)
			}},
		{Name: "Pool>node", Pool: "pool.Pool", Workers: "Node, workerpool.worker() (interop/testdata/bench/pool/wp-worker.js)",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startGoPool(ctx, b, 1, b.nodeCommand("wp-worker.js"))
			}},
		{Name: "Pool>node-helper", Pool: "pool.Pool", Workers: "Node, @nodeipc/node (interop/testdata/bench/pool/helper-worker.js)",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startGoPool(ctx, b, 1, b.nodeCommand("helper-worker.js"))
			}},
		{Name: "Pool>go", Pool: "pool.Pool", Workers: "Go, pool.Serve",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startGoPool(ctx, b, 1, func() *exec.Cmd { return exec.Command(b.goWorker) })
			}},
		{Name: "Pool>go/p1", Pool: "pool.Pool", Workers: "Go, pool.Serve, GOMAXPROCS=1",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startGoPool(ctx, b, 1, func() *exec.Cmd {
					cmd := exec.Command(b.goWorker)
					cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
					return cmd
				})
			}},
		{Name: "Pool>go/c8", Pool: "pool.Pool, Concurrency 8", Workers: "Go, pool.Serve",
			start: func(ctx context.Context, b *bench) (runningPool, error) {
				return startGoPool(ctx, b, 8, func() *exec.Cmd { return exec.Command(b.goWorker) })
			}},
	}
}

// nodeCommand returns a command factory for a Node worker script in
// interop/testdata/bench/pool.
func (b *bench) nodeCommand(script string) func() *exec.Cmd {
	path := filepath.Join(b.root, "interop", "testdata", "bench", "pool", script)
	return func() *exec.Cmd { return nodeipc.NodeCommand(b.node, nil, path) }
}

// driver is a workerpool pool in a Node process
// (interop/testdata/bench/pool/driver.js),
// which takes one test per line on stdin and answers with one JSON line.
type driver struct {
	cmd     *exec.Cmd
	stdin   *os.File
	out     *bufio.Reader
	stderr  *strings.Builder
	first   time.Duration
	workers []int
}

// startDriver starts driver.js with Node workers (kind "node") or the
// workers of the program bin (kind "go") and waits until it is warmed up.
func startDriver(ctx context.Context, b *bench, kind, bin string) (runningPool, error) {
	args := []string{filepath.Join(b.root, "interop", "testdata", "bench", "pool", "driver.js"), kind}
	if kind == "go" {
		args = append(args, bin)
	}
	cmd := exec.CommandContext(ctx, b.node, args...)
	cmd.Env = append(os.Environ(), "POOLBENCH_WORKERS="+strconv.Itoa(poolSize), "POOLBENCH_WARMUP="+strconv.Itoa(b.o.warmup))
	cmd.WaitDelay = 2 * time.Second
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = inR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	d := &driver{cmd: cmd, stdin: inW, out: bufio.NewReader(stdout), stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: d.stderr}
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	inR.Close()
	var ready struct {
		Ready   bool    `json:"ready"`
		FirstMs float64 `json:"first_ms"`
		Pids    []int   `json:"pids"`
	}
	if err := d.readLine(&ready); err != nil {
		return nil, d.abort(err)
	}
	if !ready.Ready || len(ready.Pids) != poolSize {
		return nil, d.abort(fmt.Errorf("driver not ready: %+v", ready))
	}
	d.first = time.Duration(ready.FirstMs * float64(time.Millisecond))
	d.workers = ready.Pids
	return d, nil
}

// readLine reads one JSON line from the driver into v.
func (d *driver) readLine(v any) error {
	line, err := d.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading from driver.js: %w", err)
	}
	return json.Unmarshal(line, v)
}

// abort kills the driver and returns err with its stderr.
func (d *driver) abort(err error) error {
	d.stdin.Close()
	d.cmd.Process.Kill()
	d.cmd.Wait()
	if s := strings.TrimSpace(d.stderr.String()); s != "" {
		err = fmt.Errorf("%w; driver.js stderr: %s", err, s)
	}
	return err
}

func (d *driver) firstAnswer() time.Duration { return d.first }

func (d *driver) pids() (int, []int) { return d.cmd.Process.Pid, d.workers }

// run has the driver run the test and returns the time the driver measured
// (so the pipe to it is not counted). ctx kills the driver (CommandContext).
func (d *driver) run(_ context.Context, method string, n int) (time.Duration, error) {
	line, _ := json.Marshal(map[string]any{"method": method, "n": n})
	if _, err := d.stdin.Write(append(line, '\n')); err != nil {
		return 0, d.abort(err)
	}
	var res struct {
		Seconds float64 `json:"seconds"`
	}
	if err := d.readLine(&res); err != nil {
		return 0, d.abort(err)
	}
	if res.Seconds <= 0 {
		return 0, d.abort(fmt.Errorf("driver.js measured %v s", res.Seconds))
	}
	return time.Duration(res.Seconds * float64(time.Second)), nil
}

// close ends the driver's stdin, on which it terminates its pool and exits.
func (d *driver) close() error {
	d.stdin.Close()
	err := d.cmd.Wait()
	if err != nil {
		if s := strings.TrimSpace(d.stderr.String()); s != "" {
			err = fmt.Errorf("%w; driver.js stderr: %s", err, s)
		}
	}
	return err
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// goPool is a pool.Pool in this process.
type goPool struct {
	p       *pool.Pool
	callers int
	first   time.Duration

	mu   sync.Mutex
	cmds []*exec.Cmd // every worker command, in start order
}

// payload is the echo call's parameter and result, the same object the
// Node driver sends: {"id":i,"op":"echo","payload":"x"×20}.
type payload struct {
	ID      int    `json:"id"`
	Op      string `json:"op"`
	Payload string `json:"payload"`
}

// filler is the echo payload's string.
var filler = strings.Repeat("x", 20)

// hashes[b] is the answer of hash(i) for i % 256 == b: the SHA-256, in
// hex, of that byte followed by a fixed 4 KiB block whose byte k is
// (31k + 7) % 256 (see interop/testdata/bench/pool/wp-worker.js). Computed once, so that
// checking the answers costs the caller little.
var hashes = func() (h [256]string) {
	block := make([]byte, 4096)
	for k := range block {
		block[k] = byte(31*k + 7)
	}
	for b := range h {
		sum := sha256.Sum256(append([]byte{byte(b)}, block...))
		h[b] = hex.EncodeToString(sum[:])
	}
	return h
}()

// startGoPool starts a pool.Pool of poolSize workers made by newCmd,
// with concurrency calls per worker, times its first answer, warms it up and
// waits until every worker is ready.
func startGoPool(ctx context.Context, b *bench, concurrency int, newCmd func() *exec.Cmd) (runningPool, error) {
	g := &goPool{callers: b.o.callers}
	t0 := time.Now()
	p, err := pool.New(pool.Options{
		Size:        poolSize,
		Concurrency: concurrency,
		Command: func(int) *exec.Cmd {
			cmd := newCmd()
			g.mu.Lock()
			g.cmds = append(g.cmds, cmd)
			g.mu.Unlock()
			return cmd
		},
		Output: os.Stderr,
	})
	if err != nil {
		return nil, err
	}
	g.p = p
	var sum float64
	if err := p.Do(ctx, &pool.Call{Method: "add", Params: []any{1, 1}, Result: &sum}); err != nil {
		return nil, g.abort(err)
	}
	g.first = time.Since(t0)
	for _, m := range methods {
		if _, err := g.run(ctx, m, b.o.warmup); err != nil {
			return nil, g.abort(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Ready < poolSize {
		if time.Now().After(deadline) {
			return nil, g.abort(fmt.Errorf("only %d of %d workers ready after warm-up", p.Stats().Ready, poolSize))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return g, nil
}

// abort closes the pool and returns err.
func (g *goPool) abort(err error) error {
	g.p.Close()
	return err
}

func (g *goPool) firstAnswer() time.Duration { return g.first }

// pids returns this process and the last poolSize workers started (a
// worker replaced during the run would make the numbers wrong, and is
// reported by close).
func (g *goPool) pids() (int, []int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ws []int
	for _, c := range g.cmds[max(0, len(g.cmds)-poolSize):] {
		if c.Process != nil {
			ws = append(ws, c.Process.Pid)
		}
	}
	return os.Getpid(), ws
}

// run makes n calls from g.callers goroutines, each calling Pool.Do in a
// loop while calls are left, and checks every result.
func (g *goPool) run(ctx context.Context, method string, n int) (time.Duration, error) {
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, g.callers)
	for range g.callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := g.call(ctx, method, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	close(errs)
	return d, <-errs
}

// call makes call i of method and checks its result.
func (g *goPool) call(ctx context.Context, method string, i int) error {
	switch method {
	case "add":
		var sum float64
		if err := g.p.Do(ctx, &pool.Call{Method: "add", Params: []any{i, 1}, Result: &sum}); err != nil {
			return err
		}
		if sum != float64(i+1) {
			return fmt.Errorf("add(%d, 1) = %v", i, sum)
		}
	case "echo":
		var r payload
		if err := g.p.Do(ctx, &pool.Call{Method: "echo", Params: []any{payload{ID: i, Op: "echo", Payload: filler}}, Result: &r}); err != nil {
			return err
		}
		if r.ID != i || r.Op != "echo" || r.Payload != filler {
			return fmt.Errorf("echo %d: got %+v", i, r)
		}
	case "hash":
		var h string
		if err := g.p.Do(ctx, &pool.Call{Method: "hash", Params: []any{i}, Result: &h}); err != nil {
			return err
		}
		if h != hashes[i%256] {
			return fmt.Errorf("hash(%d) = %q; want %q", i, h, hashes[i%256])
		}
	default:
		return errors.New("unknown method " + method)
	}
	return nil
}

// close stops the pool; a worker that crashed or was replaced during the
// run is an error.
func (g *goPool) close() error {
	st := g.p.Stats()
	err := g.p.Close()
	if err == nil && (st.Restarts > 0 || st.Failures > 0) {
		err = fmt.Errorf("%d worker restarts, %d failed calls", st.Restarts, st.Failures)
	}
	return err
}
