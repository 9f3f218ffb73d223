// Command poolbench measures calls per second through worker pools: the Go
// pool.Pool with Go workers and with Node workers, against workerpool
// (npm) with Node workers, on the same machine in the same run.
//
// Run it from the repository root:
//
//	go run ./interop/bench/poolbench          # 1-3 min on 2 vCPUs; rewrites docs/bench/pool.md
//	go run ./interop/bench/poolbench -json    # the results as JSON on stdout
//	go run ./interop/bench/poolbench -out ''  # write nothing
//
// Configurations (names read pool>workers; every pool has 2 worker
// processes, one call at a time per worker unless noted):
//
//	workerpool>node    the baseline: workerpool 10 (workerType 'process') driven by
//	                   interop/testdata/bench/pool/driver.js, workers
//	                   interop/testdata/bench/pool/wp-worker.js
//	                   (workerpool.worker())
//	workerpool>go      the same driver, workers the Go worker (forkOpts.execPath)
//	Pool>node          pool.Pool in this process, workers wp-worker.js: the very
//	                   file of the baseline, so only the parent differs
//	Pool>node-helper   pool.Pool, workers interop/testdata/bench/pool/helper-worker.js
//	                   (@nodeipc/node instead of workerpool.worker())
//	Pool>go            pool.Pool, workers the Go worker (pool.Serve), built
//	                   from interop/bench/poolbench/worker
//	Pool>go/p1         the same, the Go workers run with GOMAXPROCS=1
//	Pool>go/c8         the same with pool.Options.Concurrency 8: up to 8 calls in
//	                   flight per worker, which workerpool.worker() cannot do
//
// Three tests, the same in every configuration: add(i, 1), echo of a small
// object ({"id":i,"op":"echo","payload":"x"×20}, 53 bytes of JSON) and the
// CPU-heavy hash(i), the SHA-256 (hex) of the byte i % 256 followed by a
// fixed 4 KiB block (node:crypto in the Node workers, crypto/sha256 in the
// Go worker), each result checked. A test is -n calls (default 10,000) with all of them
// outstanding at once: the Node driver calls pool.exec n times and awaits
// Promise.all (workerpool queues them); the Go caller runs -callers
// goroutines (default 64) that each call Pool.Do in a loop until n calls are
// done, so the pool's queue never runs dry. calls/s is n divided by the time
// from the first submission to the last answer.
//
// Each repetition starts every pool afresh, one after another, times its
// first answer (from creating the pool; process start-up included), warms it
// up (2,000 calls of each method) and waits until every worker is ready;
// then the tests run interleaved, every configuration running a test before
// any runs the next, in an order rotated per repetition and per test. So
// start-up is excluded from calls/s, and all configurations see the machine
// in the same state. During each test the CPU time of the parent (the Node
// driver, or this process for pool.Pool) and of the workers is read from
// /proc, to show where the time goes.
//
// It prints medians with [min–max] over the repetitions and each
// configuration's ratio to workerpool>node (above 1 is better), and writes
// docs/bench/pool.md (keeping its hand-written "## Findings" section);
// -json prints every sample. -cpuprofile DIR profiles this process and the Go
// workers, for go tool pprof.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"syscall"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// options are the command-line settings.
type options struct {
	n       int
	reps    int
	callers int
	warmup  int
	node    string
	json    bool
	out     string
	only    *regexp.Regexp
	verbose bool
	// cpuprofile is a directory for CPU profiles of this process (the
	// pool.Pool parent) and of every Go worker.
	cpuprofile string
}

func main() {
	var o options
	var only string
	flag.IntVar(&o.n, "n", 10000, "calls per test")
	flag.IntVar(&o.reps, "reps", 5, "repetitions (at least 3 for a meaningful median)")
	flag.IntVar(&o.callers, "callers", 64, "goroutines calling Pool.Do in the Go configurations")
	flag.IntVar(&o.warmup, "warmup", 2000, "warm-up calls of each method after a pool starts")
	flag.StringVar(&o.node, "node", "node", "the Node.js `binary` for every Node process")
	flag.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	flag.StringVar(&o.out, "out", "docs/bench/pool.md", "write the results page to `file` (relative to the module root; empty: write nothing)")
	flag.StringVar(&only, "only", "", "run only the configurations matching this `regexp` (workerpool>node always runs)")
	flag.BoolVar(&o.verbose, "v", false, "log every test to stderr")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write CPU profiles of this process (pool.pprof: the pool.Pool parent, callers included) and of every Go worker (worker-PID.pprof) into `dir`")
	flag.Parse()
	if o.n <= 0 || o.reps <= 0 || o.callers <= 0 || o.warmup < 0 {
		fatalf("-n, -reps and -callers must be positive, -warmup not negative")
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			fatalf("-only: %v", err)
		}
		o.only = re
	}
	root, err := runinfo.RepoRoot("./interop/bench/poolbench")
	if err != nil {
		fatalf("%v", err)
	}
	if o.out != "" && !filepath.IsAbs(o.out) {
		o.out = filepath.Join(root, o.out)
	}
	if err := run(root, &o); err != nil {
		fatalf("%v", err)
	}
}

// fatalf reports an error and exits with status 1.
func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "poolbench: "+format+"\n", args...)
	os.Exit(1)
}

// logf writes a line on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "poolbench: "+format+"\n", args...)
}

// run builds the Go worker, runs the repetitions and reports.
func run(root string, o *options) error {
	start := time.Now()
	loadBefore := runinfo.LoadAvg()
	node, err := runinfo.NodePath(o.node)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "interop", "testdata", "node_modules", "workerpool")); err != nil {
		return fmt.Errorf("workerpool is not installed in interop/testdata/node_modules (npm ci --prefix interop/testdata): %w", err)
	}
	tmp, err := os.MkdirTemp("", "nodeipc-poolbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	goWorker, err := runinfo.BuildGo(root, "./interop/bench/poolbench/worker", tmp, "worker")
	if err != nil {
		return err
	}
	floorWorker, err := runinfo.BuildGo(root, "./interop/bench/poolbench/floorworker", tmp, "floorworker")
	if err != nil {
		return err
	}
	if o.cpuprofile, err = runinfo.ProfileDir(o.cpuprofile); err != nil {
		return err
	}
	if o.cpuprofile != "" {
		// The Go workers inherit the environment, under both pools.
		os.Setenv("POOLBENCH_CPUPROFILE", o.cpuprofile)
		f, err := os.Create(filepath.Join(o.cpuprofile, "pool.pprof"))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o, root: root, node: node, goWorker: goWorker, floorWorker: floorWorker, results: map[string]map[string][]float64{}}
	for _, c := range allConfigs() {
		if c.Baseline || o.only == nil || o.only.MatchString(c.Name) {
			b.configs = append(b.configs, c)
		}
	}
	for rep := range o.reps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := b.repetition(ctx, rep); err != nil {
			return err
		}
		logf("repetition %d/%d done in %s", rep+1, o.reps, time.Since(t0).Round(time.Millisecond))
	}
	rep := b.report(time.Since(start), describeMachine(root, node, loadBefore))
	if err := runinfo.Print(rep, o.json, rep.table); err != nil {
		return err
	}
	if o.out != "" {
		if err := rep.write(o.out); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	}
	logf("done in %s", time.Since(start).Round(time.Second))
	return nil
}
