//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Config sets how much the suite does. Every loop is bounded by these
// counts and by a deadline.
type Config struct {
	Short     bool
	Messages  int           // per role, serialization and Node version
	Cycles    int           // start/exchange/disconnect cycles of a Go parent
	Kills     int           // kill -9 of a Go child's Node parent
	PoolCalls int           // calls per pool run
	PoolKills int           // workers killed per pool run
	Stopped   time.Duration // how long to send to a stopped child
	// HostileLimit is the Go child's MaxMessageSize in the hostile
	// catalogue (0: the default); the oversized inputs scale with it.
	HostileLimit int
}

// ShortConfig runs in well under a minute (part of make test).
var ShortConfig = Config{
	Short: true, Messages: 2000, Cycles: 40, Kills: 3, PoolCalls: 300, PoolKills: 4,
	Stopped: 500 * time.Millisecond, HostileLimit: 16 << 20,
}

// FullConfig runs in a few minutes (make soak).
var FullConfig = Config{
	Messages: 100_000, Cycles: 1000, Kills: 20, PoolCalls: 3000, PoolKills: 30,
	Stopped: 2 * time.Second,
}

// Env is what the suite runs: this program (for the Go roles), the nodeipc
// CLI, and the Node binaries.
type Env struct {
	Self  string // this program, started again with SOAK_ROLE
	CLI   string // the nodeipc binary
	Nodes []Node
	Dir   string // interop/testdata/soak
}

// Node is one Node binary of the matrix.
type Node struct {
	Name, Path, Version string
}

// Report is everything one run measured.
type Report struct {
	Date        string        `json:"date"`
	Command     string        `json:"command"`
	Mode        string        `json:"mode"`
	Go          string        `json:"go"`
	Nodes       []Node        `json:"nodes"`
	Messaging   []Messaging   `json:"messaging"`
	Cycles      Cycles        `json:"cycles"`
	ParentKill  []ParentKill  `json:"parent_kill"`
	ParentDeath []ParentDeath `json:"parent_death"`
	Pool        []PoolRun     `json:"pool"`
	Stopped     Stopped       `json:"stopped"`
	Hostile     []Hostile     `json:"hostile"`
	Seconds     float64       `json:"seconds"`
}

// Messaging is one message soak: a Go parent or a Go child, with one
// serialization and one Node.
type Messaging struct {
	Role          string `json:"role"` // "go-parent" or "go-child"
	Serialization string `json:"serialization"`
	Node          string `json:"node"`
	Exchange
	GoPeakRSSMiB float64 `json:"go_peak_rss_mib"`
}

// ParentKill is how long a Go child took to exit after kill -9 of its Node
// parent.
type ParentKill struct {
	Node     string  `json:"node"`
	Runs     int     `json:"runs"`
	Exited   int     `json:"exited"`
	MedianMS float64 `json:"median_ms"`
	MaxMS    float64 `json:"max_ms"`
}

// ParentDeath is what became of a busy Node child started with Start when
// its Go parent was killed with SIGKILL.
type ParentDeath struct {
	Pdeathsig bool `json:"pdeathsig"`
	// ChildAlive: the Node child still ran a second after its parent died.
	ChildAlive bool `json:"child_alive"`
}

// PoolRun is one `nodeipc pool` run under random kill -9 of its workers.
type PoolRun struct {
	Retry     bool `json:"retry"`
	Calls     int  `json:"calls"`
	Answered  int  `json:"answered"`
	Failed    int  `json:"failed"`
	Lost      int  `json:"lost"`
	Wrong     int  `json:"wrong"` // answered with another call's result
	Kills     int  `json:"kills"`
	LeftAlive int  `json:"left_alive"` // worker processes alive after the pool exited
	Exit      int  `json:"exit"`
	// Errors are the distinct error messages of the failed calls.
	Errors []string `json:"errors,omitempty"`
}

// Run runs the suite. progress gets a line per step.
func Run(ctx context.Context, env Env, cfg Config, progress io.Writer) (*Report, error) {
	start := time.Now()
	rep := &Report{Nodes: env.Nodes, Mode: "full"}
	if cfg.Short {
		rep.Mode = "short"
	}
	step := func(format string, args ...any) { fmt.Fprintf(progress, "soak: "+format+"\n", args...) }

	for _, node := range env.Nodes {
		for _, mode := range []string{"json", "advanced"} {
			step("go-parent %s %s: %d messages", mode, node.Name, cfg.Messages)
			var ex Exchange
			err := startRole(ctx, env, "goparent", &ex, "SOAK_COUNT="+strconv.Itoa(cfg.Messages),
				"SOAK_SERIALIZATION="+mode, "SOAK_NODE="+node.Path, "SOAK_SCRIPT="+filepath.Join(env.Dir, "child.js"))
			if err != nil {
				return nil, err
			}
			rep.Messaging = append(rep.Messaging, Messaging{Role: "go-parent", Serialization: mode, Node: node.Version,
				Exchange: ex, GoPeakRSSMiB: ex.Go.PeakRSSMiB})

			step("go-child %s %s: %d messages", mode, node.Name, cfg.Messages)
			m, err := nodeParent(ctx, env, node, mode, cfg.Messages)
			if err != nil {
				return nil, err
			}
			rep.Messaging = append(rep.Messaging, m)
		}
	}

	step("%d start/exchange/disconnect cycles of a Go parent", cfg.Cycles)
	if err := startRole(ctx, env, "cycles", &rep.Cycles, "SOAK_COUNT="+strconv.Itoa(cfg.Cycles), "SOAK_CHILD="+env.CLI); err != nil {
		return nil, err
	}

	for _, node := range env.Nodes {
		step("kill -9 of a Go child's parent, %s: %d runs", node.Name, cfg.Kills)
		pk, err := parentKill(ctx, env, node, cfg.Kills)
		if err != nil {
			return nil, err
		}
		rep.ParentKill = append(rep.ParentKill, pk)
	}

	for _, pd := range []bool{false, true} {
		step("kill -9 of a busy Node child's Go parent, Pdeathsig %v", pd)
		d, err := parentDeath(ctx, env, pd)
		if err != nil {
			return nil, err
		}
		rep.ParentDeath = append(rep.ParentDeath, d)
	}

	for _, retry := range []bool{false, true} {
		step("nodeipc pool, %d calls, %d workers killed, retry %v", cfg.PoolCalls, cfg.PoolKills, retry)
		p, err := poolRun(ctx, env, cfg, retry)
		if err != nil {
			return nil, err
		}
		rep.Pool = append(rep.Pool, p)
	}

	step("a stopped child, %v of sending", cfg.Stopped)
	if err := startRole(ctx, env, "stopped", &rep.Stopped, "SOAK_MILLIS="+strconv.Itoa(int(cfg.Stopped/time.Millisecond)),
		"SOAK_NODE="+env.Nodes[0].Path, "SOAK_SCRIPT="+filepath.Join(env.Dir, "child.js")); err != nil {
		return nil, err
	}

	step("hostile inputs")
	h, err := hostileCatalogue(ctx, env, cfg)
	if err != nil {
		return nil, err
	}
	rep.Hostile = h
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// startRole runs this program in a role and decodes its JSON result.
func startRole(ctx context.Context, env Env, role string, out any, vars ...string) error {
	cmd := exec.CommandContext(ctx, env.Self)
	cmd.Env = append(os.Environ(), append([]string{"SOAK_ROLE=" + role}, vars...)...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("role %s: %w", role, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("role %s: %w (output %q)", role, err, b)
	}
	return nil
}

// nodeParent has parent.js fork this program as a Go child.
func nodeParent(ctx context.Context, env Env, node Node, mode string, n int) (Messaging, error) {
	cmd := exec.CommandContext(ctx, node.Path, filepath.Join(env.Dir, "parent.js"), strconv.Itoa(n), mode, env.Self)
	cmd.Env = append(os.Environ(), "SOAK_ROLE=gochild")
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.Output()
	if err != nil {
		return Messaging{}, fmt.Errorf("parent.js: %w", err)
	}
	var res struct {
		Exchange
		Child struct{ Start, End ProcStats }
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return Messaging{}, fmt.Errorf("parent.js: %w (output %q)", err, b)
	}
	res.Exchange.Go, res.Exchange.GoStart = &res.Child.End, &res.Child.Start
	return Messaging{Role: "go-child", Serialization: mode, Node: node.Version, Exchange: res.Exchange,
		GoPeakRSSMiB: res.Child.End.PeakRSSMiB}, nil
}

// parentKill starts hold.js (a Node parent of a Go child: the nodeipc CLI's
// echo), kills it with SIGKILL once the channel works, and times the
// child's exit.
func parentKill(ctx context.Context, env Env, node Node, runs int) (ParentKill, error) {
	res := ParentKill{Node: node.Version, Runs: runs}
	var times []float64
	for range runs {
		cmd := exec.CommandContext(ctx, node.Path, filepath.Join(env.Dir, "hold.js"), env.CLI)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return res, err
		}
		if err := cmd.Start(); err != nil {
			return res, err
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			kill(cmd.Process.Pid)
			cmd.Wait()
			return res, fmt.Errorf("hold.js: no child pid: %v", err)
		}
		child, _ := strconv.Atoi(strings.TrimSpace(line))
		t0 := time.Now()
		kill(cmd.Process.Pid)
		d, ok := waitGone(child, t0, 10*time.Second)
		cmd.Wait()
		if ok {
			res.Exited++
			times = append(times, float64(d.Microseconds())/1000)
		} else {
			kill(child)
		}
	}
	if len(times) > 0 {
		slices.Sort(times)
		res.MedianMS, res.MaxMS = times[len(times)/2], times[len(times)-1]
	}
	return res, nil
}

// parentDeath runs the holdparent role (a Go parent of busy.js), kills it
// with SIGKILL and looks whether its Node child still runs a second later.
func parentDeath(ctx context.Context, env Env, pdeathsig bool) (ParentDeath, error) {
	cmd := exec.CommandContext(ctx, env.Self)
	cmd.Env = append(os.Environ(), "SOAK_ROLE=holdparent", "SOAK_NODE="+env.Nodes[0].Path,
		"SOAK_SCRIPT="+filepath.Join(env.Dir, "busy.js"))
	if pdeathsig {
		cmd.Env = append(cmd.Env, "SOAK_PDEATHSIG=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return ParentDeath{}, err
	}
	if err := cmd.Start(); err != nil {
		return ParentDeath{}, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		kill(cmd.Process.Pid)
		cmd.Wait()
		return ParentDeath{}, fmt.Errorf("holdparent: no child pid: %v", err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(line))
	kill(cmd.Process.Pid)
	cmd.Wait()
	_, gone := waitGone(child, time.Now(), time.Second)
	kill(child) // leave nothing behind
	waitGone(child, time.Now(), 5*time.Second)
	return ParentDeath{Pdeathsig: pdeathsig, ChildAlive: !gone}, nil
}

// workerName is how a pool's error names a worker.
var workerName = regexp.MustCompile(`worker \d+ \(pid \d+\)`)

// lineCounter counts the lines written to w.
type lineCounter struct {
	w     io.Writer
	lines *atomic.Int64
}

func (c lineCounter) Write(p []byte) (int, error) {
	c.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	return c.w.Write(p)
}

// poolRun feeds calls to `nodeipc pool` with Node workers while killing
// random workers with SIGKILL, and counts what came back.
func poolRun(ctx context.Context, env Env, cfg Config, retry bool) (PoolRun, error) {
	res := PoolRun{Retry: retry, Calls: cfg.PoolCalls}
	args := []string{"pool", "--workers", "4", "--concurrency", "2"}
	if retry {
		args = append(args, "--retry")
	}
	args = append(args, "--", env.Nodes[0].Path, filepath.Join(env.Dir, "worker.js"))
	cmd := exec.CommandContext(ctx, env.CLI, args...)
	var input bytes.Buffer
	rng := rand.New(rand.NewPCG(1, uint64(cfg.PoolCalls)))
	for i := range cfg.PoolCalls {
		fmt.Fprintf(&input, `{"id":%d,"method":"work","params":[%d,%d]}`+"\n", i, i, 1+rng.IntN(19))
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return res, err
	}
	var stdout bytes.Buffer
	var lines atomic.Int64
	cmd.Stdout = lineCounter{&stdout, &lines}
	cmd.Stderr = io.Discard // worker output and the summary
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return res, err
	}
	seen := map[int]bool{}
	fed := make(chan error, 1)
	go func() {
		_, err := stdin.Write(input.Bytes())
		if cerr := stdin.Close(); err == nil {
			err = cerr
		}
		fed <- err
	}()
	// Kill while calls are answered (the workers are up and busy), spread
	// over the time the calls take: 8 at once, 10 ms each on average.
	every := time.Duration(cfg.PoolCalls) * 10 * time.Millisecond / 8 / time.Duration(cfg.PoolKills+1)
	for lines.Load() == 0 && running(cmd.Process.Pid) {
		time.Sleep(time.Millisecond)
	}
	for res.Kills < cfg.PoolKills && running(cmd.Process.Pid) && lines.Load() < int64(cfg.PoolCalls) {
		time.Sleep(every/2 + time.Duration(rng.Int64N(int64(every))))
		workers := children(cmd.Process.Pid)
		for _, w := range workers {
			seen[w] = true
		}
		if len(workers) == 0 {
			continue
		}
		kill(workers[rng.IntN(len(workers))])
		res.Kills++
	}
	if err := <-fed; err != nil {
		kill(cmd.Process.Pid)
	}
	for _, w := range children(cmd.Process.Pid) {
		seen[w] = true
	}
	err = cmd.Wait()
	res.Exit = cmd.ProcessState.ExitCode()
	if err != nil && res.Exit != 3 { // 3: some calls failed
		return res, fmt.Errorf("nodeipc pool: %v", err)
	}
	for w := range seen {
		if _, gone := waitGone(w, time.Now(), 2*time.Second); !gone {
			res.LeftAlive++
			kill(w)
		}
	}
	answered := map[int]bool{}
	for line := range bytes.Lines(stdout.Bytes()) {
		var r struct {
			ID     int             `json:"id"`
			Result *int            `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return res, fmt.Errorf("pool output %q: %v", line, err)
		}
		if answered[r.ID] {
			res.Wrong++ // answered twice
		}
		answered[r.ID] = true
		switch {
		case r.Result != nil && *r.Result == r.ID:
			res.Answered++
		case r.Result != nil:
			res.Wrong++
		default:
			res.Failed++
			var e struct {
				Message string `json:"message"`
			}
			json.Unmarshal(r.Error, &e)
			msg := workerName.ReplaceAllString(e.Message, "worker N (pid P)")
			if !slices.Contains(res.Errors, msg) {
				res.Errors = append(res.Errors, msg)
			}
		}
	}
	res.Lost = res.Calls - len(answered)
	return res, nil
}
