//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// report is a run's results.
type report struct {
	root    string
	Options options `json:"-"`
	Start   time.Time
	Elapsed string
	Machine runinfo.Machine
	Configs []*config
	// Samples holds, per configuration, every metric's samples: calls/s,
	// cpu.{client,server,agents,workers,total} (µs per call), lat.p50 and
	// lat.p99 (µs).
	Samples map[string]map[string][]float64
}

func (r *report) sum(cfg, metric string) runinfo.Summary {
	v := r.Samples[cfg][metric]
	if len(v) == 0 {
		return runinfo.Summary{}
	}
	return runinfo.Summarize(v)
}

// text is the results page, without the findings.
func (r *report) text() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o := r.Options
	m := r.Machine
	w("# Remote pool benchmark: nodeipc/remote over NATS vs the local pool.Pool\n\n")
	w("`go run ./interop/bench/remotebench`, %s UTC, took %s. %d repetitions, order rotated each time.\n\n", r.Start.Format("2006-01-02 15:04"), r.Elapsed, o.reps)
	w("Machine: %d vCPU, %s, Linux %s; Go %s. Load average (1/5/15 min) %s at the start, %s at the end.\n\n", m.NProc, m.CPU, m.Kernel, m.Go, m.LoadBefore, m.LoadAfter)
	w("## What runs\n\n")
	w("Every configuration has 2 Go worker processes (`interop/bench/poolbench/worker`, `pool.Serve`). In the remote ones, this process is the client (`remote.Client`), the agents are `nodeipc agent` processes, and the NATS server (nats-server embedded in a process of its own) listens on 127.0.0.1: everything is on this one machine, so the figures are the cost of the NATS hops without a network.\n\n")
	w("| name | what |\n|---|---|\n")
	for _, c := range r.Configs {
		w("| `%s` | %s |\n", c.Name, c.Description)
	}
	w("\nThroughput: %d calls of `add(i, 1)` made by %d goroutines; calls/s over the time from the first call to the last answer. Latency: %d calls one after another; the median and 99th percentile round trip. Every result is checked. CPU time per call, µs, during the throughput test, summed over each group's threads (`/proc/PID/task/*/schedstat`): this process (the local pool's parent, or the remote client), the NATS server, the agents, the workers.\n\n", o.n, o.callers, o.seq)
	w("## Results\n\nMedians [min–max] over %d repetitions; × is the ratio to the local pool with the same concurrency (above 1 is better).\n\n", o.reps)
	w("| configuration | calls/s | latency p50, µs | latency p99, µs |\n|---|---|---|---|\n")
	for _, c := range r.Configs {
		cs := r.sum(c.Name, "calls/s")
		ratio := ""
		if c.Baseline != c.Name {
			ratio = fmt.Sprintf(" **×%.2f**", cs.Median/r.sum(c.Baseline, "calls/s").Median)
		}
		w("| `%s` | %s%s | %s | %s |\n", c.Name, runinfo.Span(cs, runinfo.Rate), ratio,
			runinfo.Span(r.sum(c.Name, "lat.p50"), runinfo.Brief), runinfo.Span(r.sum(c.Name, "lat.p99"), runinfo.Brief))
	}
	w("\nCPU time per call, µs (medians):\n\n| configuration | this process | NATS server | agents | workers | total |\n|---|---|---|---|---|---|\n")
	for _, c := range r.Configs {
		cell := func(g string) string {
			if len(r.Samples[c.Name]["cpu."+g]) == 0 || (c.agents == nil && (g == "server" || g == "agents")) {
				return "–"
			}
			return runinfo.Brief(r.sum(c.Name, "cpu."+g).Median)
		}
		w("| `%s` | %s | %s | %s | %s | %s |\n", c.Name, cell("client"), cell("server"), cell("agents"), cell("workers"), cell("total"))
	}
	lat := r.sum("remote/1 agent", "lat.p50").Median - r.sum("local", "lat.p50").Median
	cpu := r.sum("remote/1 agent", "cpu.total").Median - r.sum("local", "cpu.total").Median
	w("\nPer-call overhead of the remote pool (remote/1 agent − local, medians): **%s µs of latency** and **%s µs of CPU** (all processes together).\n", runinfo.Brief(lat), runinfo.Brief(cpu))
	return b.String()
}

// write writes the page to path, keeping its "## Findings" section.
func (r *report) write(path string) error {
	findings := ""
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), "\n## Findings\n"); i >= 0 {
			findings = string(old[i:])
		}
	}
	return os.WriteFile(path, []byte(r.text()+findings), 0o644)
}
