// Command bench is nodeipc's benchmark suite: it proves, in one command,
// what putting Go on one end of Node's child_process IPC channel buys over
// Node on both ends.
//
// Run it from the repository root:
//
//	go run ./interop/bench            # full run, 1-3 minutes on 2 cores; writes docs/bench/
//	go run ./interop/bench -quick     # CI smoke, 10-30 seconds; writes nothing
//	go run ./interop/bench -json      # the results as JSON on stdout
//
// It runs these configurations side by side, in one run (names read
// parent>child/serialization). Each repetition starts one process pair per
// configuration and interleaves them test by test, so that they all see the
// machine in the same state; the order of the configurations rotates at
// every repetition and every test:
//
//	node>node      Node parent, Node child: the anchor every ratio is relative to
//	node>go        Node parent, Go child decoding into typed structs
//	node>go-raw    Node parent, Go child that only frames: drops (p2c) or forwards (echo) each message
//	node>go-any    Node parent, Go child that decodes each message into an any (Message.Value) and sends it back (echo only)
//	go>node        Go parent, Node child
//	go>go          Go parent, Go child
//	raw            a bare socketpair, blocking syscalls, no framing: the ceiling
//
// and measures for each: ping-pong round-trip latency (median and p99),
// one-way throughput child→parent (c2p) and parent→child (p2c) for small
// (53 B), medium (978 B) and large (1 MiB) messages, pipelined
// request/response with 64 in flight, the pipelined echo of the small and
// medium messages (Node parent), and, with both processes pinned to
// CPU 0 (taskset -c 0), the round trip and its CPU cost on each side. For
// Node and Go children under a Node parent it also measures peak RSS
// (VmHWM) under the same sustained load and the time from start to the
// first message. Finally it measures the library's allocations per message
// on the framing path.
//
// It prints medians with [min–max] over the repetitions and each
// configuration's ratio to node>node (above 1 is better), checks the
// project's targets, and (full runs, or with -out) writes results.md,
// results.json and ratios.svg to docs/bench/.
//
// The Go programs are interop/bench/gopeer (built by this command), the
// Node ones interop/testdata/bench/parent.js and child.js. -cpuprofile DIR
// makes every Go peer write a CPU profile there, for go tool pprof.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// options are the command-line settings.
type options struct {
	quick      bool
	json       bool
	reps       int
	node       string
	sers       []string
	out        string
	cpuprofile string
	only       *regexp.Regexp
	verbose    bool
	gomaxprocs int
}

func main() {
	var o options
	var sers, only string
	flag.BoolVar(&o.quick, "quick", false, "smoke run for CI (~20 s): fewer messages and 2 repetitions; writes no files unless -out is given")
	flag.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	flag.IntVar(&o.reps, "reps", 0, "repetitions (default 5, or 2 with -quick)")
	flag.StringVar(&o.node, "node", "node", "the Node.js `binary` for every Node process")
	flag.StringVar(&sers, "serialization", "json", "comma-separated serializations to run: json, advanced")
	flag.StringVar(&o.out, "out", "", "write results.md, results.json and ratios.svg to `dir` (default docs/bench for full runs)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "make every Go peer write a CPU profile into `dir`")
	flag.StringVar(&only, "only", "", "run only the configurations matching this `regexp` (node>node always runs)")
	flag.BoolVar(&o.verbose, "v", false, "log every run to stderr")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "run every Go peer with GOMAXPROCS=`n` (default: the Go runtime's, one per CPU)")
	flag.Parse()
	if o.reps <= 0 {
		o.reps = 5
		if o.quick {
			o.reps = 2
		}
	}
	for _, s := range strings.Split(sers, ",") {
		switch s = strings.TrimSpace(s); s {
		case "json", "advanced":
			o.sers = append(o.sers, s)
		default:
			fatalf("unknown serialization %q (want json or advanced)", s)
		}
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			fatalf("-only: %v", err)
		}
		o.only = re
	}
	root, err := runinfo.RepoRoot("./interop/bench")
	if err != nil {
		fatalf("%v", err)
	}
	if o.out == "" && !o.quick {
		o.out = filepath.Join(root, "docs", "bench")
	}
	if err := run(root, &o); err != nil {
		fatalf("%v", err)
	}
}

// fatalf reports an error and exits with status 1.
func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// run builds the Go peer, runs every job, and reports.
func run(root string, o *options) error {
	start := time.Now()
	node, err := runinfo.NodePath(o.node)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "nodeipc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	gopeer, err := runinfo.BuildGo(root, "./interop/bench/gopeer", tmp, "gopeer")
	if err != nil {
		return err
	}
	if o.cpuprofile, err = runinfo.ProfileDir(o.cpuprofile); err != nil {
		return err
	}
	s := newSuite(root, node, gopeer, o)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.runAll(ctx); err != nil {
		return err
	}
	s.framing = measureFraming(o.quick)
	rep := s.report(time.Since(start))
	if err := runinfo.Print(rep, o.json, rep.markdown); err != nil {
		return err
	}
	if o.out != "" {
		if err := rep.write(o.out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", o.out)
	}
	fmt.Fprintf(os.Stderr, "bench: done in %s\n", time.Since(start).Round(time.Second))
	return nil
}
