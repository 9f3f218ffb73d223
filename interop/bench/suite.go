package main

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
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/shape"
	"nodeipc.dev/nodeipc"
)

// config is one pairing of a parent and a child program.
type config struct {
	Name   string `json:"name"`   // parent>child/serialization, e.g. "node>go/json"
	Parent string `json:"parent"` // "node", "go" or "raw"
	Child  string `json:"child"`  // "node", "go", "go-raw" or "" (raw)
	Ser    string `json:"serialization,omitempty"`
	// Baseline is the configuration its ratios are relative to.
	Baseline string `json:"baseline"`
	// Skipped, when set, says why the configuration did not run.
	Skipped string `json:"skipped,omitempty"`
}

// serTag is the short form of a serialization used in names.
func serTag(ser string) string {
	if ser == "advanced" {
		return "adv"
	}
	return ser
}

// counts are the sizes of the tests.
type counts struct {
	latency, pinned, small, medium, large, pipeline, mem int
}

func countsFor(quick bool) counts {
	if quick {
		return counts{latency: 2000, pinned: 2000, small: 20000, medium: 5000, large: 8, pipeline: 5000, mem: 5000}
	}
	return counts{latency: 20000, pinned: 10000, small: 100000, medium: 25000, large: 48, pipeline: 50000, mem: 20000}
}

func (c counts) forShape(name string) int {
	switch name {
	case shape.Small:
		return c.small
	case shape.MediumName:
		return c.medium
	}
	return c.large
}

// Job kinds: the main run, the pinned round trip, the memory run.
const (
	jobMain   = "main"
	jobPinned = "pinned"
	jobMem    = "mem"
)

// job is one process pair started with one plan.
type job struct {
	cfg   *config
	kind  string
	tests []shape.Test
}

// suite holds the configurations, the jobs and the samples.
type suite struct {
	root, node, gopeer string
	o                  *options
	n                  counts
	configs            []*config
	jobs               []job
	// samples[config][metric] holds one value per repetition.
	samples map[string]map[string][]float64
	notes   []string
	framing []framingResult
	seq     int
	// loadBefore is the load average when the suite started.
	loadBefore string
}

func newSuite(root, node, gopeer string, o *options) *suite {
	s := &suite{root: root, node: node, gopeer: gopeer, o: o, n: countsFor(o.quick),
		samples: map[string]map[string][]float64{}, loadBefore: loadAvg()}
	advancedErr := advancedSupport()
	for _, ser := range o.sers {
		base := "node>node/" + serTag(ser)
		for _, pc := range [][2]string{{"node", "node"}, {"node", "go"}, {"node", "go-raw"}, {"go", "node"}, {"go", "go"}} {
			c := &config{Name: pc[0] + ">" + pc[1] + "/" + serTag(ser), Parent: pc[0], Child: pc[1], Ser: ser, Baseline: base}
			if c.Name != base && o.only != nil && !o.only.MatchString(c.Name) {
				continue
			}
			if ser == "advanced" && advancedErr != nil && (c.Parent == "go" || c.Child != "node") {
				c.Skipped = "skipped: " + advancedErr.Error()
			}
			s.configs = append(s.configs, c)
		}
	}
	if o.only == nil || o.only.MatchString("raw") {
		s.configs = append(s.configs, &config{Name: "raw", Parent: "raw", Baseline: "node>node/json"})
	}
	s.plan()
	return s
}

// advancedSupport reports whether this build of nodeipc has advanced
// serialization, as the library itself says.
func advancedSupport() error {
	a, b, err := nodeipc.Pipe(&nodeipc.Options{Serialization: nodeipc.Advanced})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("nodeipc reports advanced serialization as unsupported in this build (%v)", err)
		}
		return err
	}
	a.Close()
	b.Close()
	return nil
}

// plan makes the jobs of one repetition.
func (s *suite) plan() {
	n := s.n
	main := []shape.Test{{Kind: shape.KindLatency, N: n.latency}}
	for _, k := range []string{shape.KindC2P, shape.KindP2C} {
		for _, sh := range shape.Sizes {
			main = append(main, shape.Test{Kind: k, Shape: sh, N: n.forShape(sh)})
		}
	}
	main = append(main, shape.Test{Kind: shape.KindPipeline, N: n.pipeline, Window: 64})
	var p2cOnly []shape.Test
	for _, sh := range shape.Sizes {
		p2cOnly = append(p2cOnly, shape.Test{Kind: shape.KindP2C, Shape: sh, N: n.forShape(sh)})
	}
	pinned := []shape.Test{{Kind: shape.KindLatency, N: n.pinned}}
	mem := []shape.Test{
		{Kind: shape.KindP2C, Shape: shape.MediumName, N: n.mem},
		{Kind: shape.KindC2P, Shape: shape.MediumName, N: n.mem},
		{Kind: shape.KindPipeline, N: n.mem, Window: 64},
		{Kind: shape.KindMem},
	}
	for _, c := range s.configs {
		if c.Skipped != "" {
			continue
		}
		switch {
		case c.Child == "go-raw":
			s.jobs = append(s.jobs, job{c, jobMain, p2cOnly})
		default:
			s.jobs = append(s.jobs, job{c, jobMain, main}, job{c, jobPinned, pinned})
			if c.Parent == "node" {
				s.jobs = append(s.jobs, job{c, jobMem, mem})
			}
		}
	}
}

// runAll runs every job once per repetition, rotating the order.
func (s *suite) runAll(ctx context.Context) error {
	total := len(s.jobs) * s.o.reps
	done := 0
	for rep := range s.o.reps {
		off := rep * len(s.jobs) / s.o.reps
		for i := range s.jobs {
			if err := ctx.Err(); err != nil {
				return err
			}
			j := s.jobs[(i+off)%len(s.jobs)]
			if j.cfg.Skipped != "" {
				continue
			}
			done++
			t0 := time.Now()
			err := s.runJob(ctx, j)
			if s.o.verbose || err != nil {
				status := "ok"
				if err != nil {
					status = err.Error()
				}
				fmt.Fprintf(os.Stderr, "bench: [%d/%d] rep %d %s %s: %s (%s)\n", done, total, rep+1, j.cfg.Name, j.kind, status, time.Since(t0).Round(time.Millisecond))
			} else {
				fmt.Fprintf(os.Stderr, "\rbench: %d/%d runs", done, total)
			}
		}
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// errUnsupported marks a peer that exited with gopeer's "unsupported" status.
var errUnsupported = errors.New("the Go peer reports errors.ErrUnsupported")

// runJob starts one parent program with the job's plan and records what it
// reports. A failed job is noted and skipped; it does not stop the suite.
func (s *suite) runJob(ctx context.Context, j job) error {
	c := j.cfg
	plan := shape.Plan{Serialization: c.Ser, Tests: j.tests}
	s.seq++
	prof := func(role string) []string {
		if s.o.cpuprofile == "" {
			return nil
		}
		name := strings.NewReplacer(">", "_", "/", "_").Replace(c.Name)
		return []string{"-cpuprofile", filepath.Join(s.o.cpuprofile, fmt.Sprintf("%s-%s-%s-%03d.pprof", name, j.kind, role, s.seq))}
	}
	switch c.Child {
	case "node":
		plan.Child = shape.Child{Kind: "node", Path: s.node, Script: filepath.Join(s.root, "js", "bench", "child.js")}
	case "go", "go-raw":
		args := append([]string{"child"}, prof("child")...)
		if c.Child == "go-raw" {
			args = append(args, "-raw")
		}
		plan.Child = shape.Child{Kind: "go", Path: s.gopeer, Args: args}
	}
	pj, err := json.Marshal(plan)
	if err != nil {
		return err
	}
	var argv []string
	switch c.Parent {
	case "node":
		argv = []string{s.node, filepath.Join(s.root, "js", "bench", "parent.js"), string(pj)}
	case "go":
		argv = append(append([]string{s.gopeer, "parent"}, prof("parent")...), string(pj))
	case "raw":
		argv = []string{s.gopeer, "rawparent", string(pj)}
	}
	if j.kind == jobPinned {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), shape.EnvMedium+"="+string(shape.JSON(shape.MediumName)))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	s.record(c, j.kind, stdout.Bytes())
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			err = errUnsupported
			if c.Skipped == "" {
				c.Skipped = "skipped: " + err.Error() + " for " + c.Ser + " serialization"
			}
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 400 {
			msg = msg[len(msg)-400:]
		}
		if c.Skipped == "" {
			s.notes = append(s.notes, fmt.Sprintf("%s (%s run) failed: %v: %s", c.Name, j.kind, err, msg))
		}
		return fmt.Errorf("%w: %s", err, msg)
	}
	return nil
}

// record adds the results a parent printed to the samples.
func (s *suite) record(c *config, kind string, out []byte) {
	m := s.samples[c.Name]
	if m == nil {
		m = map[string][]float64{}
		s.samples[c.Name] = m
	}
	add := func(key string, v float64) {
		if v > 0 {
			m[key] = append(m[key], v)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r shape.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Error != "" {
			continue
		}
		switch {
		case r.Kind == shape.KindStartup && kind != jobPinned:
			add("startup", r.StartupMs)
		case r.Kind == shape.KindLatency && kind == jobPinned:
			add("pin.median", r.MedianUs)
			add("pin.p99", r.P99Us)
			add("pin.child_cpu", r.ChildCPUUs)
			add("pin.parent_cpu", r.ParentCPUUs)
		case r.Kind == shape.KindLatency:
			add("lat.median", r.MedianUs)
			add("lat.p99", r.P99Us)
		case (r.Kind == shape.KindC2P || r.Kind == shape.KindP2C || r.Kind == shape.KindPipeline) && kind == jobMain:
			key := r.Kind
			if r.Shape != "" {
				key += "." + r.Shape
			}
			add(key, r.Rate)
			add("util.parent."+key, r.ParentUtil)
			add("util.child."+key, r.ChildUtil)
		case r.Kind == shape.KindMem:
			add("rss", float64(r.VmHWMKiB)/1024)
		}
	}
}
