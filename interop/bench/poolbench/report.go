package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// describeMachine is runinfo.DescribeMachine plus the workerpool version.
func describeMachine(root, node, loadBefore string) runinfo.Machine {
	m := runinfo.DescribeMachine(node, loadBefore)
	wp := exec.Command(node, "-p", "require('workerpool/package.json').version")
	wp.Dir = filepath.Join(root, "interop", "testdata")
	if b, err := wp.Output(); err == nil {
		m.Workerpool = strings.TrimSpace(string(b))
	}
	return m
}

// report is everything one run found.
type report struct {
	Command  string          `json:"command"`
	Date     string          `json:"date"`
	Duration string          `json:"duration"`
	Machine  runinfo.Machine `json:"machine"`
	Reps     int             `json:"repetitions"`
	// Calls is the number of calls per test, Callers the goroutines
	// calling Pool.Do, Warmup the warm-up calls per method.
	Calls   int       `json:"calls"`
	Callers int       `json:"callers"`
	Warmup  int       `json:"warmup"`
	Workers int       `json:"workers"`
	Configs []*config `json:"configs"`
	// Results: config name → metric → runinfo.Summary. Metrics: "add", "echo" and "hash"
	// (calls/s), "first" (ms from creating the pool to the first answer),
	// "cpu.parent.M" and "cpu.workers.M" (CPU µs per call of test M, the
	// workers summed), "util.parent.M" and "util.workers.M" (CPU time over
	// wall time: 1 is one core kept busy; for the workers, per worker).
	Results map[string]map[string]runinfo.Summary `json:"results"`
	Notes   []string                              `json:"notes,omitempty"`
}

// report summarizes the samples and computes the ratios.
func (b *bench) report(d time.Duration, m runinfo.Machine) *report {
	r := &report{
		Command:  "go run ./interop/bench/poolbench " + strings.Join(os.Args[1:], " "),
		Date:     time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Duration: d.Round(time.Second).String(),
		Machine:  m,
		Reps:     b.o.reps,
		Calls:    b.o.n,
		Callers:  b.o.callers,
		Warmup:   b.o.warmup,
		Workers:  poolSize,
		Configs:  b.configs,
		Results:  map[string]map[string]runinfo.Summary{},
		Notes:    b.notes,
	}
	r.Command = strings.TrimSpace(r.Command)
	base := b.configs[0].Name
	for name, ms := range b.results {
		r.Results[name] = map[string]runinfo.Summary{}
		for key, v := range ms {
			r.Results[name][key] = runinfo.Summarize(v)
		}
	}
	for _, ms := range r.Results {
		for _, key := range methods {
			s, ok := ms[key]
			bs, okb := r.Results[base][key]
			if ok && okb && bs.Median > 0 {
				s.Ratio = s.Median / bs.Median
				ms[key] = s
			}
		}
	}
	return r
}

// table renders the results tables (printed on stdout).
func (r *report) table() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("Calls per second, median [min–max] over %d repetitions, and ×ratio to workerpool>node (above 1 is faster). %d workers per pool, %s calls per test.\n\n",
		r.Reps, r.Workers, runinfo.Rate(float64(r.Calls)))
	w("| pool>workers |")
	for _, m := range methods {
		w(" %s calls/s |", methodTitles[m])
	}
	w(" first answer, ms |\n|---|%s---|\n", strings.Repeat("---|", len(methods)))
	for _, c := range r.Configs {
		res, ok := r.Results[c.Name]
		if !ok {
			w("| %s |%s – |\n", c.Name, strings.Repeat(" failed |", len(methods)))
			continue
		}
		w("| %s |", c.Name)
		for _, m := range methods {
			s, ok := res[m]
			if !ok {
				w(" failed |")
				continue
			}
			w(" %s", runinfo.Span(s, runinfo.Rate))
			if !c.Baseline {
				w(" **×%.2f**", s.Ratio)
			}
			w(" |")
		}
		if s, ok := res["first"]; ok {
			w(" %s |\n", runinfo.Span(s, runinfo.Brief))
		} else {
			w(" – |\n")
		}
	}
	w("\nWhere the time goes: CPU time per call, µs (parent / both workers together), and how busy each side was (CPU time ÷ wall time; 1.00 = one core; workers: per worker). Medians. The machine has %d vCPUs.\n\n", r.Machine.NProc)
	w("| pool>workers |")
	for _, m := range methods {
		w(" %s: CPU µs/call parent / workers |", m)
	}
	for _, m := range methods {
		w(" %s: busy parent / worker |", m)
	}
	w("\n|---|%s\n", strings.Repeat("---|", 2*len(methods)))
	for _, c := range r.Configs {
		res := r.Results[c.Name]
		w("| %s |", c.Name)
		for _, m := range methods {
			pc, ok1 := res["cpu.parent."+m]
			wc, ok2 := res["cpu.workers."+m]
			if !ok1 || !ok2 {
				w(" – |")
				continue
			}
			w(" %s / %s |", runinfo.Brief(pc.Median), runinfo.Brief(wc.Median))
		}
		for _, m := range methods {
			pu, ok1 := res["util.parent."+m]
			wu, ok2 := res["util.workers."+m]
			if !ok1 || !ok2 {
				w(" – |")
				continue
			}
			w(" %.2f / %.2f |", pu.Median, wu.Median)
		}
		w("\n")
	}
	if len(r.Notes) > 0 {
		w("\nProblems during the run:\n\n")
		for _, n := range r.Notes {
			w("- %s\n", n)
		}
	}
	return b.String()
}

// findingsHeading starts the hand-written part of pool.md, which write
// keeps when it rewrites the file.
const findingsHeading = "## Findings"

// markdown renders the results page, docs/bench/pool.md.
func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Pool benchmark: pool.Pool vs workerpool\n\n")
	w("`%s`, %s, took %s. %d repetitions, order rotated each time.\n\n", r.Command, r.Date, r.Duration, r.Reps)
	w("Machine: %d vCPU, %s, Linux %s; Node %s; Go %s; workerpool %s. Load average (1/5/15 min) %s at the start, %s at the end.\n\n",
		r.Machine.NProc, r.Machine.CPU, r.Machine.Kernel, r.Machine.Node, r.Machine.Go, r.Machine.Workerpool, r.Machine.LoadBefore, r.Machine.LoadAfter)
	w("## What runs\n\n")
	w("Every pool has %d worker processes and, unless noted, gives each worker one call at a time (workerpool's model, and `pool.Options.Concurrency` 1).\n\n", r.Workers)
	w("| name | pool (parent) | workers |\n|---|---|---|\n")
	for _, c := range r.Configs {
		name := "`" + c.Name + "`"
		if c.Baseline {
			name += " (baseline)"
		}
		w("| %s | %s | %s |\n", name, c.Pool, c.Workers)
	}
	w("\nMethod, the same in every configuration: three tests, `add(i, 1)`, `echo` of `{\"id\":i,\"op\":\"echo\",\"payload\":\"x\"×20}` (53 bytes of JSON) and `hash(i)`, the CPU-heavy one: the SHA-256, in hex, of the byte i %% 256 followed by a fixed 4 KiB block, with `node:crypto` in the Node workers and `crypto/sha256` in the Go worker. Every result is checked. ")
	w("A test is %d calls, all outstanding at once: the Node driver (`interop/testdata/bench/pool/driver.js`) calls `pool.exec` %d times and awaits `Promise.all` (workerpool queues them); ", r.Calls, r.Calls)
	w("the Go caller runs %d goroutines that each call `Pool.Do` in a loop until the %d calls are done, so `Pool`'s queue (1,024 by default) never runs dry. ", r.Callers, r.Calls)
	w("calls/s is the number of calls over the time from the first submission to the last answer. ")
	w("Each repetition starts every pool afresh, times its first answer (from creating the pool, process start-up included), warms it up with %d calls of each method and waits until both workers are ready; start-up is not in calls/s. ", r.Warmup)
	w("Then the tests run interleaved: every configuration runs a test before any runs the next, in an order rotated per repetition and per test, so all see the machine in the same state. ")
	w("During each test the CPU time (user+system, 10 ms ticks) of the parent — the Node driver, or the `poolbench` process that hosts `pool.Pool` — and of the workers is read from `/proc/PID/stat`.\n\n")
	w("## Results\n\n")
	w("%s", r.table())
	return b.String()
}

// write saves the page in file, keeping the hand-written findings section
// of the page already there. (Every sample is in the -json output.)
func (r *report) write(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	page := r.markdown()
	if old, err := os.ReadFile(file); err == nil {
		if i := strings.Index(string(old), findingsHeading); i >= 0 {
			page += "\n" + string(old[i:])
		}
	}
	return os.WriteFile(file, []byte(page), 0o644)
}
