package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// metric is one measured quantity.
type metric struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Unit  string `json:"unit"`
	// HigherBetter is true for rates, false for times and sizes.
	HigherBetter bool `json:"higher_better"`
}

// metrics are every metric, in table order.
var metrics = []metric{
	{"lat.median", "round trip, median", "µs", false},
	{"lat.p99", "round trip, p99", "µs", false},
	{"c2p.small", "c2p small (53 B)", "msg/s", true},
	{"c2p.medium", "c2p medium (978 B)", "msg/s", true},
	{"c2p.large", "c2p large (1 MiB)", "msg/s", true},
	{"p2c.small", "p2c small (53 B)", "msg/s", true},
	{"p2c.medium", "p2c medium (978 B)", "msg/s", true},
	{"p2c.large", "p2c large (1 MiB)", "msg/s", true},
	{"pipeline", "pipeline, 64 in flight", "req/s", true},
	{"pipeline.small", "pipelined echo, small (53 B), 64 in flight", "req/s", true},
	{"pipeline.medium", "pipelined echo, medium (978 B), 64 in flight", "req/s", true},
	{"pin.median", "round trip pinned to CPU 0, median", "µs", false},
	{"pin.child_cpu", "pinned: child CPU per round trip", "µs", false},
	{"pin.parent_cpu", "pinned: parent CPU per round trip", "µs", false},
	{"rss", "child peak RSS (VmHWM), sustained load", "MiB", false},
	{"startup", "start to first message", "ms", false},
}

// target is one of the project's goals, checked against this run.
type target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	// WantValue is the bound in Want.
	WantValue float64 `json:"want_value"`
	Got       float64 `json:"got"`
	// Unit says what Got is: a ratio to node>node, or allocs per message.
	Unit string `json:"unit"`
	Pass bool   `json:"pass"`
	// Missing is set when a configuration it needs did not run.
	Missing bool `json:"missing,omitempty"`
}

// report is everything one run found.
type report struct {
	Command  string                                `json:"command"`
	Date     string                                `json:"date"`
	Duration string                                `json:"duration"`
	Machine  runinfo.Machine                       `json:"machine"`
	Reps     int                                   `json:"repetitions"`
	Quick    bool                                  `json:"quick"`
	Counts   map[string]int                        `json:"counts"`
	Metrics  []metric                              `json:"metrics"`
	Configs  []*config                             `json:"configs"`
	Results  map[string]map[string]runinfo.Summary `json:"results"`
	// Sers are the serializations of the run.
	Sers    []string        `json:"serializations"`
	Targets []target        `json:"targets"`
	Framing []framingResult `json:"framing"`
	Notes   []string        `json:"notes,omitempty"`

	// GoMaxProcs is the GOMAXPROCS of the Go peers, "" for the runtime's
	// default (one per CPU).
	GoMaxProcs string `json:"go_peers_gomaxprocs,omitempty"`
}

func (s *suite) report(d time.Duration) *report {
	r := &report{
		Command:  "go run ./interop/bench " + strings.Join(os.Args[1:], " "),
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Duration: d.Round(time.Second).String(),
		Machine:  runinfo.DescribeMachine(s.node, s.loadBefore),
		Reps:     s.o.reps,
		Quick:    s.o.quick,
		Counts: map[string]int{"latency": s.n.latency, "pinned": s.n.pinned, "small": s.n.small, "medium": s.n.medium,
			"large": s.n.large, "pipeline": s.n.pipeline, "pipeline_warmup": s.n.pipelineWarmup, "mem": s.n.mem,
			"echo_small": s.n.echoSmall, "echo_medium": s.n.echoMedium},
		Metrics: metrics,
		Configs: s.configs,
		Sers:    s.o.sers,
		Results: map[string]map[string]runinfo.Summary{},
		Framing: s.framing,
		Notes:   s.notes,
	}
	r.Command = strings.TrimSpace(r.Command)
	if s.o.gomaxprocs > 0 {
		r.GoMaxProcs = strconv.Itoa(s.o.gomaxprocs)
	} else {
		r.GoMaxProcs = os.Getenv("GOMAXPROCS") // inherited by the peers
	}
	for name, m := range s.samples {
		out := map[string]runinfo.Summary{}
		for k, v := range m {
			if len(v) > 0 {
				out[k] = runinfo.Summarize(v)
			}
		}
		r.Results[name] = out
	}
	for _, c := range s.configs {
		base := r.Results[c.Baseline]
		for _, m := range metrics {
			sm, ok := r.Results[c.Name][m.Key]
			b, okb := base[m.Key]
			if !ok || !okb || sm.Median == 0 || b.Median == 0 {
				continue
			}
			if m.HigherBetter {
				sm.Ratio = sm.Median / b.Median
			} else {
				sm.Ratio = b.Median / sm.Median
			}
			r.Results[c.Name][m.Key] = sm
		}
	}
	r.Targets = r.targets()
	return r
}

// ratio returns the ratio of config's metric, if it was measured.
func (r *report) ratio(config, key string) (float64, bool) {
	s, ok := r.Results[config][key]
	return s.Ratio, ok && s.Ratio > 0
}

// targets checks the project's goals (json serialization, and the
// untyped echo's in each serialization run).
func (r *report) targets() []target {
	var ts []target
	atLeast := func(name, config, key string, want float64) {
		got, ok := r.ratio(config, key)
		ts = append(ts, target{Name: name, Want: fmt.Sprintf("≥ %.2f×", want), WantValue: want, Got: got, Unit: "× node>node",
			Pass: ok && got >= want, Missing: !ok})
	}
	// The untyped echo: decoded into jsvalue's value model and encoded
	// again, against Node's echo child and against forwarding the bytes.
	for _, ser := range r.Sers {
		tag := serTag(ser)
		want := map[string][2]float64{"json": {1.1, 1.0}, "advanced": {1.3, 1.1}}[ser]
		for i, sh := range []string{"small", "medium"} {
			atLeast(fmt.Sprintf("pipelined echo %s, %s: untyped Go child (decode into any, send it back) vs Node child", sh, ser),
				"node>go-any/"+tag, "pipeline."+sh, want[i])
		}
		if ser != "json" {
			continue
		}
		for _, sh := range []string{"small", "medium"} {
			a, okA := r.Results["node>go-any/"+tag]["pipeline."+sh]
			b, okB := r.Results["node>go-raw/"+tag]["pipeline."+sh]
			ok := okA && okB && b.Median > 0
			got := 0.0
			if ok {
				got = a.Median / b.Median
			}
			ts = append(ts, target{Name: fmt.Sprintf("pipelined echo %s, json: untyped Go child within 10%% of the byte-for-byte echo", sh),
				Want: "≥ 0.90×", WantValue: 0.9, Got: got, Unit: "× node>go-raw", Pass: ok && got >= 0.9, Missing: !ok})
		}
	}
	atLeast("c2p small: Node parent ← Go child vs Node child", "node>go/json", "c2p.small", 4)
	atLeast("c2p medium: Node parent ← Go child vs Node child", "node>go/json", "c2p.medium", 1.1)
	atLeast("c2p large: Node parent ← Go child vs Node child", "node>go/json", "c2p.large", 1.1)
	for _, sh := range []string{"small", "medium", "large"} {
		atLeast("p2c "+sh+": Node parent → Go child (typed decode) vs Node child", "node>go/json", "p2c."+sh, 1.0)
	}
	atLeast("pipeline 64 in flight: Node parent with Go child", "node>go/json", "pipeline", 1.15)
	atLeast("pipeline 64 in flight: Go ↔ Go", "go>go/json", "pipeline", 3.5)
	atLeast("pinned round trip: child CPU, Go child ≤ Node child", "node>go/json", "pin.child_cpu", 1.0)
	atLeast("peak RSS: Go child ≤ 1/3 of Node child", "node>go/json", "rss", 3.0)
	atLeast("start to first message: Go child ≤ 1/5 of Node child", "node>go/json", "startup", 5.0)
	for _, f := range r.Framing {
		if f.Shape == "large" {
			continue
		}
		ts = append(ts, target{Name: "framing path allocations per message (Recv), " + f.Shape, Want: "≈ 0 (< 0.1)", WantValue: 0.1,
			Got: f.RecvAllocs, Unit: "allocs/msg", Pass: f.Messages > 0 && f.RecvAllocs < 0.1})
	}
	return ts
}

// format prints v in the metric's unit, briefly.
func format(unit string, v float64) string {
	if unit == "msg/s" || unit == "req/s" {
		return runinfo.Rate(v)
	}
	return runinfo.Brief(v)
}

// markdown renders the report as the results.md page.
func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# nodeipc benchmark results\n\n")
	w("`%s`, %s, took %s. %d repetitions, order rotated each time.\n\n", r.Command, r.Date, r.Duration, r.Reps)
	w("Machine: %d vCPU, %s, Linux %s; Node %s; Go %s", r.Machine.NProc, r.Machine.CPU, r.Machine.Kernel, r.Machine.Node, r.Machine.Go)
	if r.Machine.GoJSON != "" {
		w("; %s", r.Machine.GoJSON)
	}
	w(". Load average (1/5/15 min) %s at the start, %s at the end", r.Machine.LoadBefore, r.Machine.LoadAfter)
	if r.GoMaxProcs != "" {
		w(". The Go peers ran with GOMAXPROCS=%s", r.GoMaxProcs)
	} else {
		w(". The Go peers ran with the default GOMAXPROCS (%d)", r.Machine.NProc)
	}
	w(".\n\nCounts per run: %d round trips (%d pinned; after 2,000 warm-up), %d small / %d medium / %d large messages one way, %d pipelined requests (after %d unmeasured), %d / %d pipelined echoes of the small / medium message (after a quarter as many unmeasured); memory: %d medium each way + %d pipelined.\n\n",
		r.Counts["latency"], r.Counts["pinned"], r.Counts["small"], r.Counts["medium"], r.Counts["large"], r.Counts["pipeline"], r.Counts["pipeline_warmup"],
		r.Counts["echo_small"], r.Counts["echo_medium"], r.Counts["mem"], r.Counts["mem"])

	w("## Targets\n\nRatios are to node>node (same serialization, same run); above 1 is better.\n\n")
	w("| target | want | got | |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		verdict := "**missed**"
		got := fmt.Sprintf("%.2f %s", t.Got, t.Unit)
		if math.Abs(t.Got-t.WantValue) < 0.01 {
			got = fmt.Sprintf("%.3f %s", t.Got, t.Unit) // too close to the line for 2 digits
		}
		switch {
		case t.Missing:
			verdict, got = "not measured", "–"
		case t.Pass:
			verdict = "met"
		}
		if t.Unit == "allocs/msg" && !t.Missing {
			got = fmt.Sprintf("%.4f %s", t.Got, t.Unit)
		}
		w("| %s | %s | %s | %s |\n", t.Name, t.Want, got, verdict)
	}

	var cols []*config
	for _, c := range r.Configs {
		if c.Skipped == "" {
			cols = append(cols, c)
		}
	}
	w("\n## Results\n\nMedian [min–max] over the repetitions, then ×ratio to the baseline (node>node of the same serialization; raw against node>node/json), above 1 is better. ")
	w("Names read parent>child/serialization; `go` decodes into typed structs, `go-raw` only frames (its echo forwards the bytes as they came), `go-any` decodes into an any (jsvalue's value model, with Message.Value) and sends that back, then releases the message; `raw` is a bare socketpair with blocking syscalls and no framing.\n\n")
	w("| metric | unit |")
	for _, c := range cols {
		w(" %s |", c.Name)
	}
	w("\n|---|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, m := range metrics {
		w("| %s | %s |", m.Label, m.Unit)
		for _, c := range cols {
			s, ok := r.Results[c.Name][m.Key]
			if !ok {
				w(" – |")
				continue
			}
			w(" %s", runinfo.Span(s, func(v float64) string { return format(m.Unit, v) }))
			if c.Name != c.Baseline && s.Ratio > 0 {
				w(" **×%.2f**", s.Ratio)
			}
			w(" |")
		}
		w("\n")
	}
	w("\n![ratios to node>node](ratios.svg)\n")

	w("\n## Who is the bottleneck\n\nCPU time each side used during the throughput tests, divided by the wall time (median over the repetitions): 1.00 is one core kept busy. ")
	w("A side near 1.00 is the limit; when neither is, the pair waits on wake-ups (or on other load on the machine).\n\n")
	w("| test (parent / child) |")
	for _, c := range cols {
		w(" %s |", c.Name)
	}
	w("\n|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, m := range metrics {
		if !strings.HasPrefix(m.Key, "c2p.") && !strings.HasPrefix(m.Key, "p2c.") && !strings.HasPrefix(m.Key, "pipeline") {
			continue
		}
		w("| %s |", m.Label)
		for _, c := range cols {
			p, okp := r.Results[c.Name]["util.parent."+m.Key]
			ch, okc := r.Results[c.Name]["util.child."+m.Key]
			if !okp || !okc {
				w(" – |")
				continue
			}
			w(" %.2f / %.2f |", p.Median, ch.Median)
		}
		w("\n")
	}

	w("\n## Framing allocations (in process, nodeipc.NewChannel over an endless stream)\n\n")
	w("| shape | wire bytes | Recv allocs/msg | Recv bytes/msg | typed Decode adds allocs/msg |\n|---|---|---|---|---|\n")
	for _, f := range r.Framing {
		w("| %s | %d | %.4f | %.0f | %.2f |\n", f.Shape, f.WireBytes, f.RecvAllocs, f.RecvBytes, f.DecodeAllocs)
	}
	var notes []string
	for _, c := range r.Configs {
		if c.Skipped != "" {
			notes = append(notes, c.Name+": "+c.Skipped)
		}
	}
	notes = append(notes, r.Notes...)
	if len(notes) > 0 {
		w("\n## Notes\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
	}
	return b.String()
}

// write saves results.md, results.json and ratios.svg in dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.md":   []byte(r.markdown()),
		"results.json": append(j, '\n'),
		"ratios.svg":   r.svg(),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
