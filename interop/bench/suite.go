package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
	"nodeipc.dev/interop/bench/internal/shape"
	"nodeipc.dev/nodeipc"
)

// config is one pairing of a parent and a child program.
type config struct {
	Name   string `json:"name"`   // parent>child/serialization, e.g. "node>go/json"
	Parent string `json:"parent"` // "node", "go" or "raw"
	Child  string `json:"child"`  // "node", "go", "go-raw", "go-any" or "" (raw)
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
	// echoSmall and echoMedium are the pipelined echoes of the small and
	// medium shapes (the untyped echo's test).
	echoSmall, echoMedium int
	// pipelineWarmup is the discarded pipeline run right before the
	// measured one, by the same pair: the first tens of thousands of
	// pipelined requests of a pair run at about half the steady rate
	// (Node's and Go's alike), and again after the pair has been idle.
	pipelineWarmup int
}

func countsFor(quick bool) counts {
	if quick {
		return counts{latency: 2000, pinned: 2000, small: 20000, medium: 5000, large: 8, pipeline: 5000, mem: 5000, pipelineWarmup: 2000,
			echoSmall: 5000, echoMedium: 2000}
	}
	return counts{latency: 20000, pinned: 10000, small: 100000, medium: 50000, large: 48, pipeline: 200000, mem: 20000, pipelineWarmup: 40000,
		echoSmall: 60000, echoMedium: 20000}
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

// suite holds the configurations, the jobs and the samples.
type suite struct {
	root, node, gopeer string
	o                  *options
	n                  counts
	configs            []*config
	// The tests of the three phases of a repetition.
	mainTests, pinnedTests, memTests []shape.Test
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
		samples: map[string]map[string][]float64{}, loadBefore: runinfo.LoadAvg()}
	advancedErr := advancedSupport()
	for _, ser := range o.sers {
		base := "node>node/" + serTag(ser)
		for _, pc := range [][2]string{{"node", "node"}, {"node", "go"}, {"node", "go-raw"}, {"node", "go-any"}, {"go", "node"}, {"go", "go"}} {
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

// plan makes the tests of the three phases of a repetition.
func (s *suite) plan() {
	n := s.n
	s.mainTests = []shape.Test{{Kind: shape.KindLatency, N: n.latency}}
	for _, k := range []string{shape.KindC2P, shape.KindP2C} {
		for _, sh := range shape.Sizes {
			s.mainTests = append(s.mainTests, shape.Test{Kind: k, Shape: sh, N: n.forShape(sh)})
		}
	}
	s.mainTests = append(s.mainTests,
		shape.Test{Kind: shape.KindPipeline, N: n.pipelineWarmup, Window: 64, Warmup: true},
		shape.Test{Kind: shape.KindPipeline, N: n.pipeline, Window: 64})
	// The pipelined echo of whole messages, for the untyped echo.
	for _, e := range []struct {
		name string
		n    int
	}{{shape.Small, n.echoSmall}, {shape.MediumName, n.echoMedium}} {
		s.mainTests = append(s.mainTests,
			shape.Test{Kind: shape.KindPipeline, Shape: e.name, N: e.n / 4, Window: 64, Warmup: true},
			shape.Test{Kind: shape.KindPipeline, Shape: e.name, N: e.n, Window: 64})
	}
	s.pinnedTests = []shape.Test{{Kind: shape.KindLatency, N: n.pinned}}
	s.memTests = []shape.Test{
		{Kind: shape.KindP2C, Shape: shape.MediumName, N: n.mem},
		{Kind: shape.KindC2P, Shape: shape.MediumName, N: n.mem},
		{Kind: shape.KindPipeline, N: n.mem, Window: 64},
		{Kind: shape.KindMem},
	}
}

// applies reports whether configuration c runs test t of a phase: the
// framing-only Go child is there for p2c and the pipelined echo of whole
// messages, the untyped Go child for that echo only (both under a Node
// parent, as is Node's child, for comparison), and the pinned and memory
// phases compare full peers (memory: children of a Node parent).
func applies(c *config, kind string, t shape.Test) bool {
	if c.Skipped != "" {
		return false
	}
	wholeEcho := t.Kind == shape.KindPipeline && t.Shape != ""
	switch kind {
	case jobMain:
		switch c.Child {
		case "go-raw":
			return t.Kind == shape.KindP2C || wholeEcho
		case "go-any":
			return wholeEcho
		case "node":
			return !wholeEcho || c.Parent == "node"
		}
		return !wholeEcho
	case jobPinned:
		return c.Child != "go-raw" && c.Child != "go-any"
	case jobMem:
		return c.Child != "go-raw" && c.Child != "go-any" && c.Parent == "node"
	}
	return false
}

// runAll runs the repetitions. Each has three phases, each with the
// configurations in an order rotated by the repetition:
//
//   - main: one process pair per configuration, started one after another
//     (each start-up timed alone), then the tests interleaved: every
//     configuration runs a test before any runs the next one, so that all
//     of them see the machine in the same state;
//   - pinned: one pair per configuration under taskset -c 0;
//   - memory: one fresh pair per configuration, for its peak RSS.
func (s *suite) runAll(ctx context.Context) error {
	for rep := range s.o.reps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		cfgs := runinfo.Rotate(s.configs, rep)
		s.mainPhase(ctx, rep, cfgs)
		for _, kind := range []string{jobPinned, jobMem} {
			tests := s.pinnedTests
			if kind == jobMem {
				tests = s.memTests
			}
			for _, c := range cfgs {
				if !applies(c, kind, tests[0]) {
					continue
				}
				if err := s.runJob(ctx, c, kind, tests); err != nil {
					s.logf("rep %d %s %s: %v", rep+1, c.Name, kind, err)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "bench: repetition %d/%d done in %s\n", rep+1, s.o.reps, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// logf writes a line on stderr (progress with -v, failures always).
func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// mainPhase starts one interactive pair per configuration and runs the main
// tests interleaved across them.
func (s *suite) mainPhase(ctx context.Context, rep int, cfgs []*config) {
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	var peers []*peer
	for _, c := range cfgs {
		if c.Skipped != "" {
			continue
		}
		p, err := s.startPeer(ctx, c)
		if err != nil {
			s.fail(c, jobMain, err)
			continue
		}
		peers = append(peers, p)
	}
	defer func() {
		for _, p := range peers {
			if err := p.close(); err != nil && p.err == nil {
				s.fail(p.cfg, jobMain, err)
			}
		}
	}()
	for ti, t := range s.mainTests {
		if t.Warmup {
			continue // each peer runs it right before the test it warms up
		}
		for _, p := range runinfo.Rotate(peers, ti) {
			if p.err != nil || !applies(p.cfg, jobMain, t) {
				continue
			}
			t0 := time.Now()
			if ti > 0 && s.mainTests[ti-1].Warmup {
				// Back to back: a pair left idle while the other pairs
				// run starts slow again.
				if _, err := p.do(s.mainTests[ti-1]); err != nil {
					p.err = err
					s.fail(p.cfg, jobMain, err)
					continue
				}
			}
			r, err := p.do(t)
			if err != nil {
				p.err = err
				s.fail(p.cfg, jobMain, err)
				continue
			}
			s.recordResult(p.cfg, jobMain, r)
			if s.o.verbose {
				s.logf("rep %d %s %s %s: %s", rep+1, p.cfg.Name, t.Kind, t.Shape, time.Since(t0).Round(time.Millisecond))
			}
		}
	}
}

// errUnsupported marks a peer that exited with gopeer's "unsupported" status.
var errUnsupported = errors.New("the Go peer reports errors.ErrUnsupported")

// fail notes a failed run; an unsupported serialization skips the
// configuration instead.
func (s *suite) fail(c *config, kind string, err error) {
	if errors.Is(err, errUnsupported) {
		if c.Skipped == "" {
			c.Skipped = "skipped: " + errUnsupported.Error() + " for " + c.Ser + " serialization"
		}
		return
	}
	s.notes = append(s.notes, fmt.Sprintf("%s (%s run) failed: %v", c.Name, kind, err))
	s.logf("%s %s: %v", c.Name, kind, err)
}

// command returns the command that runs configuration c's parent program
// with plan (its Child is filled in here).
func (s *suite) command(ctx context.Context, c *config, kind string, plan shape.Plan) (*exec.Cmd, error) {
	plan.Serialization = c.Ser
	s.seq++
	prof := func(role string) []string {
		if s.o.cpuprofile == "" {
			return nil
		}
		name := strings.NewReplacer(">", "_", "/", "_").Replace(c.Name)
		return []string{"-cpuprofile", filepath.Join(s.o.cpuprofile, fmt.Sprintf("%s-%s-%s-%03d.pprof", name, kind, role, s.seq))}
	}
	switch c.Child {
	case "node":
		plan.Child = shape.Child{Kind: "node", Path: s.node, Script: filepath.Join(s.root, "interop", "testdata", "bench", "child.js")}
	case "go", "go-raw", "go-any":
		args := append([]string{"child"}, prof("child")...)
		switch c.Child {
		case "go-raw":
			args = append(args, "-raw")
		case "go-any":
			args = append(args, "-any")
		}
		plan.Child = shape.Child{Kind: "go", Path: s.gopeer, Args: args}
	}
	pj, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	var argv []string
	switch c.Parent {
	case "node":
		argv = []string{s.node, filepath.Join(s.root, "interop", "testdata", "bench", "parent.js"), string(pj)}
	case "go":
		argv = append(append([]string{s.gopeer, "parent"}, prof("parent")...), string(pj))
	case "raw":
		argv = []string{s.gopeer, "rawparent", string(pj)}
	}
	if kind == jobPinned {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), shape.EnvMedium+"="+string(shape.JSON(shape.MediumName)))
	if s.o.gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", s.o.gomaxprocs))
	}
	return cmd, nil
}

// exitError turns a parent program's failure into an error carrying the
// end of its stderr; exit status 3 is errUnsupported.
func exitError(err error, stderr []byte) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		err = errUnsupported
	}
	msg := strings.TrimSpace(string(stderr))
	if len(msg) > 400 {
		msg = "…" + msg[len(msg)-400:]
	}
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}

// runJob runs one parent program with tests given up front (the pinned and
// memory phases) and records what it reports.
func (s *suite) runJob(ctx context.Context, c *config, kind string, tests []shape.Test) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd, err := s.command(ctx, c, kind, shape.Plan{Tests: tests})
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	sc := bufio.NewScanner(bytes.NewReader(stdout.Bytes()))
	for sc.Scan() {
		var r shape.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Error == "" {
			s.recordResult(c, kind, r)
		}
	}
	if err != nil {
		err = exitError(err, stderr.Bytes())
		s.fail(c, kind, err)
	}
	return err
}

// peer is a running interactive parent program (and so its child).
type peer struct {
	cfg    *config
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	err    error // set once the peer failed
}

// startPeer starts configuration c's pair in interactive mode and records
// its start-up time.
func (s *suite) startPeer(ctx context.Context, c *config) (*peer, error) {
	cmd, err := s.command(ctx, c, jobMain, shape.Plan{Interactive: true})
	if err != nil {
		return nil, err
	}
	p := &peer{cfg: c, cmd: cmd}
	cmd.Stderr = &p.stderr
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReaderSize(out, 64<<10)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r, err := p.result()
	if err != nil {
		return nil, p.abort(err)
	}
	if r.Kind != shape.KindStartup {
		return nil, p.abort(fmt.Errorf("first result is %q, want startup", r.Kind))
	}
	s.recordResult(c, jobMain, r)
	return p, nil
}

// result reads the next result line.
func (p *peer) result() (shape.Result, error) {
	var r shape.Result
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("bad result line %q: %w", line, err)
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}

// do runs one test.
func (p *peer) do(t shape.Test) (shape.Result, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return shape.Result{}, err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return shape.Result{}, p.abort(err)
	}
	r, err := p.result()
	if err != nil {
		return r, p.abort(err)
	}
	if r.Kind != t.Kind {
		return r, p.abort(fmt.Errorf("got a %q result for a %q test", r.Kind, t.Kind))
	}
	return r, nil
}

// abort stops a failed peer and returns err with what it said on stderr.
func (p *peer) abort(err error) error {
	p.in.Close()
	werr := p.cmd.Wait()
	if werr == nil {
		werr = err
	}
	p.err = exitError(werr, p.stderr.Bytes())
	if !errors.Is(p.err, errUnsupported) {
		p.err = fmt.Errorf("%v (%w)", err, p.err)
	}
	return p.err
}

// close ends a peer: stdin closes, the parent disconnects and exits.
func (p *peer) close() error {
	if p.err != nil {
		return p.err
	}
	p.in.Close()
	if err := p.cmd.Wait(); err != nil {
		p.err = exitError(err, p.stderr.Bytes())
		return p.err
	}
	return nil
}

// recordResult adds one result of configuration c to the samples.
func (s *suite) recordResult(c *config, kind string, r shape.Result) {
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
	switch {
	case r.Kind == shape.KindStartup && kind != jobPinned && c.Parent != "raw":
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
