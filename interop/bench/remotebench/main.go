//go:build linux

// Command remotebench measures a pool across machines (nodeipc/remote over
// NATS) against the local pool.Pool, on the same machine in the same
// run, so the per-call cost of going through NATS can be read off.
//
// Run it from the repository root:
//
//	go run ./interop/bench/remotebench          # ~1 min on 2 vCPUs; rewrites docs/bench/remote.md
//	go run ./interop/bench/remotebench -json    # the results as JSON on stdout
//	go run ./interop/bench/remotebench -out ''  # write nothing
//
// Configurations (every one has 2 Go worker processes, the poolbench worker
// built from interop/bench/poolbench/worker):
//
//	local               pool.Pool in this process (the baseline)
//	remote/1 agent      a remote.Client in this process; one "nodeipc agent"
//	                    process with 2 workers; a NATS server in its own process
//	remote/2 agents     the same with two agents of 1 worker each
//	local/c8            pool.Pool, Concurrency 8
//	remote/1 agent/c8   one agent with Concurrency 8
//
// Two tests: throughput, -n calls of add(i, 1) made by -callers goroutines
// (calls/s from the first submission to the last answer), and latency, -seq
// calls made one after another (the median and 99th percentile of the round
// trip). Every result is checked. During each test the CPU time (all
// threads, from /proc/PID/task/*/schedstat, in nanoseconds) of this process
// (the local pool's parent, or the remote client), the NATS server, the
// agents and the workers is read, and reported per call.
//
// Each repetition starts every configuration afresh (agents and workers;
// the NATS server lives for the whole run), warms it up with -warmup calls,
// runs both tests, and stops it; configurations run in an order rotated per
// repetition. The page keeps its hand-written "## Findings" section.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"nodeipc.dev/interop/bench/internal/runinfo"
	"nodeipc.dev/nodeipc/pool"
	"nodeipc.dev/nodeipc/remote"
)

type options struct {
	n, seq, reps, callers, warmup int
	json, verbose                 bool
	out                           string
}

// config is one pool setup.
type config struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Baseline    string `json:"baseline"` // the configuration its ratios are against
	agents      []int  // workers per agent; nil: the local pool
	concurrency int
}

func configs() []*config {
	return []*config{
		{Name: "local", Description: "pool.Pool in this process, 2 workers", Baseline: "local", concurrency: 1},
		{Name: "remote/1 agent", Description: "remote.Client in this process; 1 agent process with 2 workers", Baseline: "local", agents: []int{2}, concurrency: 1},
		{Name: "remote/2 agents", Description: "remote.Client in this process; 2 agent processes with 1 worker each", Baseline: "local", agents: []int{1, 1}, concurrency: 1},
		{Name: "local/c8", Description: "pool.Pool, 2 workers, Concurrency 8", Baseline: "local/c8", concurrency: 8},
		{Name: "remote/1 agent/c8", Description: "1 agent with 2 workers, Concurrency 8", Baseline: "local/c8", agents: []int{2}, concurrency: 8},
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-serve-nats" {
		os.Exit(serveNATS())
	}
	var o options
	flag.IntVar(&o.n, "n", 10000, "calls per throughput test")
	flag.IntVar(&o.seq, "seq", 2000, "calls per latency test (one at a time)")
	flag.IntVar(&o.reps, "reps", 5, "repetitions")
	flag.IntVar(&o.callers, "callers", 64, "goroutines making calls in the throughput test")
	flag.IntVar(&o.warmup, "warmup", 2000, "warm-up calls after a configuration starts")
	flag.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	flag.BoolVar(&o.verbose, "v", false, "log every test to stderr")
	flag.StringVar(&o.out, "out", "docs/bench/remote.md", "write the results page to `file` (relative to the module root; empty: write nothing)")
	flag.Parse()
	if o.n <= 0 || o.seq <= 0 || o.reps <= 0 || o.callers <= 0 || o.warmup < 0 {
		fatalf("-n, -seq, -reps and -callers must be positive, -warmup not negative")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fatalf("%v", err)
	}
	if err := runinfo.Print(rep, o.json, rep.text); err != nil {
		fatalf("%v", err)
	}
	if o.out != "" {
		if err := rep.write(filepath.Join(rep.root, o.out)); err != nil {
			fatalf("%v", err)
		}
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "remotebench: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "remotebench: "+format+"\n", args...)
}

// bench is one run.
type bench struct {
	o       options
	root    string
	worker  string // the Go worker binary
	cli     string // the nodeipc binary
	natsURL string
	natsPID int
}

// run builds the binaries, starts the NATS server and runs every
// configuration o.reps times.
func run(ctx context.Context, o options) (*report, error) {
	root, err := runinfo.RepoRoot("./interop/bench/remotebench")
	if err != nil {
		return nil, err
	}
	load := runinfo.LoadAvg()
	start := time.Now()
	dir, err := os.MkdirTemp("", "remotebench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b := &bench{o: o, root: root}
	if b.worker, err = runinfo.BuildGo(root, "./interop/bench/poolbench/worker", dir, "worker"); err != nil {
		return nil, err
	}
	if b.cli, err = runinfo.BuildGo(root, "./cmd/nodeipc", dir, "nodeipc"); err != nil {
		return nil, err
	}
	srv, err := b.startNATS()
	if err != nil {
		return nil, err
	}
	defer func() {
		srv.stdin.Close()
		srv.cmd.Wait()
	}()

	rep := &report{root: root, Options: o, Start: start.UTC(), Samples: map[string]map[string][]float64{}}
	cs := configs()
	for r := range o.reps {
		for _, c := range runinfo.Rotate(cs, r) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m, err := b.measure(ctx, c, fmt.Sprintf("bench-%d-%d", r, slices.Index(cs, c)))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			if rep.Samples[c.Name] == nil {
				rep.Samples[c.Name] = map[string][]float64{}
			}
			for k, v := range m {
				rep.Samples[c.Name][k] = append(rep.Samples[c.Name][k], v)
			}
			if o.verbose {
				logf("repetition %d, %s: %.0f calls/s, latency %.0f µs", r+1, c.Name, m["calls/s"], m["lat.p50"])
			}
		}
	}
	rep.Configs = cs
	rep.Elapsed = time.Since(start).Round(time.Second).String()
	rep.Machine = runinfo.DescribeMachine("node", load)
	return rep, nil
}

// proc is a child process of the benchmark.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startNATS starts the NATS server in a process of its own (this binary
// with -serve-nats), so its CPU time can be told apart.
func (b *bench) startNATS() (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve-nats")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("NATS server: %w", err)
	}
	b.natsURL, b.natsPID = strings.TrimSpace(line), cmd.Process.Pid
	return &proc{cmd: cmd, stdin: stdin}, nil
}

// serveNATS is the NATS server process: on 127.0.0.1 at a random port, its
// URL on stdout, until stdin closes.
func serveNATS() int {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "NATS server not ready")
		return 1
	}
	fmt.Println(s.ClientURL())
	io.Copy(io.Discard, os.Stdin)
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}

// setup is a started configuration.
type setup struct {
	do      func(ctx context.Context, c *pool.Call) error
	agents  []int // agent pids
	workers func() []int
	close   func() error
}

// once makes f idempotent.
func once(f func() error) func() error {
	var o sync.Once
	var err error
	return func() error {
		o.Do(func() { err = f() })
		return err
	}
}

// start starts configuration c with pool name name.
func (b *bench) start(ctx context.Context, c *config, name string) (*setup, error) {
	if c.agents == nil {
		var mu sync.Mutex
		var cmds []*exec.Cmd
		p, err := pool.New(pool.Options{
			Size:        2,
			Concurrency: c.concurrency,
			Output:      os.Stderr,
			Command: func(int) *exec.Cmd {
				cmd := exec.Command(b.worker)
				mu.Lock()
				cmds = append(cmds, cmd)
				mu.Unlock()
				return cmd
			},
		})
		if err != nil {
			return nil, err
		}
		return &setup{
			do: p.Do,
			workers: func() []int {
				mu.Lock()
				defer mu.Unlock()
				var pids []int
				for _, cmd := range cmds {
					if cmd.Process != nil && cmd.ProcessState == nil {
						pids = append(pids, cmd.Process.Pid)
					}
				}
				return pids
			},
			close: once(p.Close),
		}, nil
	}
	var agents []*exec.Cmd
	stopAll := func() error {
		var errs []error
		for _, a := range agents {
			a.Process.Signal(syscall.SIGTERM)
		}
		for _, a := range agents {
			if err := a.Wait(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for i, n := range c.agents {
		cmd := exec.Command(b.cli, "agent", "--nats", b.natsURL, "--pool", name, "--name", fmt.Sprint("bench", i),
			"-n", fmt.Sprint(n), "--concurrency", fmt.Sprint(c.concurrency), "--", b.worker)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		stderr, err := cmd.StderrPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			stopAll()
			return nil, err
		}
		agents = append(agents, cmd)
		// Wait for the agent to serve, then pass its stderr on.
		sc := bufio.NewScanner(stderr)
		ready := false
		for !ready && sc.Scan() {
			ready = strings.Contains(sc.Text(), "serving pool")
		}
		if !ready {
			stopAll()
			return nil, fmt.Errorf("agent %d did not start", i)
		}
		go io.Copy(io.Discard, stderr)
	}
	nc, err := nats.Connect(b.natsURL)
	if err != nil {
		stopAll()
		return nil, err
	}
	cl, err := remote.NewClient(nc, name, nil)
	if err != nil {
		nc.Close()
		stopAll()
		return nil, err
	}
	s := &setup{
		do: cl.Do,
		workers: func() []int {
			var pids []int
			for _, a := range agents {
				pids = append(pids, children(a.Process.Pid)...)
			}
			return pids
		},
		close: once(func() error {
			err := cl.Close()
			nc.Close()
			return errors.Join(err, stopAll())
		}),
	}
	for _, a := range agents {
		s.agents = append(s.agents, a.Process.Pid)
	}
	return s, nil
}

// measure starts c, warms it up, runs both tests and stops it.
func (b *bench) measure(ctx context.Context, c *config, name string) (map[string]float64, error) {
	s, err := b.start(ctx, c, name)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if _, err := b.throughput(ctx, s, b.o.warmup); err != nil {
		return nil, err
	}
	m := map[string]float64{}
	self := os.Getpid()
	workers := s.workers()
	if len(workers) != 2 {
		return nil, fmt.Errorf("%d workers found; want 2", len(workers))
	}
	groups := map[string][]int{"client": {self}, "server": {b.natsPID}, "agents": s.agents, "workers": workers}
	if c.agents == nil {
		groups["server"] = nil
	}
	snap := func() map[string]time.Duration {
		t := map[string]time.Duration{}
		for g, pids := range groups {
			for _, p := range pids {
				t[g] += cpuTime(p)
			}
		}
		return t
	}

	c0 := snap()
	d, err := b.throughput(ctx, s, b.o.n)
	if err != nil {
		return nil, err
	}
	c1 := snap()
	n := float64(b.o.n)
	m["calls/s"] = n / d.Seconds()
	var total time.Duration
	for g := range groups {
		m["cpu."+g] = (c1[g] - c0[g]).Seconds() / n * 1e6
		total += c1[g] - c0[g]
	}
	m["cpu.total"] = total.Seconds() / n * 1e6

	lat, err := b.latency(ctx, s, b.o.seq)
	if err != nil {
		return nil, err
	}
	slices.Sort(lat)
	m["lat.p50"] = float64(lat[len(lat)/2]) / 1e3
	m["lat.p99"] = float64(lat[len(lat)*99/100]) / 1e3
	return m, s.close()
}

// throughput makes n calls of add(i, 1) from o.callers goroutines and
// returns the time from the first to the last.
func (b *bench) throughput(ctx context.Context, s *setup, n int) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, b.o.callers)
	t0 := time.Now()
	for range b.o.callers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				var sum float64
				if err := s.do(ctx, &pool.Call{Method: "add", Params: []any{i, 1}, Result: &sum}); err != nil {
					errc <- err
					return
				}
				if sum != float64(i+1) {
					errc <- fmt.Errorf("add(%d, 1) = %v", i, sum)
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	close(errc)
	return d, <-errc
}

// latency makes n calls one after another and returns their round trips.
func (b *bench) latency(ctx context.Context, s *setup, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		var sum float64
		t0 := time.Now()
		if err := s.do(ctx, &pool.Call{Method: "add", Params: []any{i, 1}, Result: &sum}); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		if sum != float64(i+1) {
			return nil, fmt.Errorf("add(%d, 1) = %v", i, sum)
		}
	}
	return lat, nil
}

// cpuTime returns the CPU time process pid's threads have used, summed
// from /proc/PID/task/*/schedstat (nanoseconds; threads that have exited
// are not counted, and a Go program rarely ends one), or 0.
func cpuTime(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var t time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			t += time.Duration(ns)
		}
	}
	return t
}

// children returns the pids of pid's child processes.
func children(pid int) []int {
	var pids []int
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}
