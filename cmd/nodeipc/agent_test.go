//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"nodeipc.dev/internal/remotetest"
	"nodeipc.dev/nodeipc/pool"
	"nodeipc.dev/nodeipc/remote"
)

// The test binary started by its own path with this first argument is the
// agents' worker (remotetest.Handlers).
const agentWorkerArg = "-remotetest-worker"

func init() {
	if len(os.Args) > 1 && os.Args[1] == agentWorkerArg && filepath.Base(os.Args[0]) != "nodeipc" {
		os.Exit(remotetest.WorkerMain())
	}
}

// agentEnv is a NATS server on loopback in the test process and the
// worker log of the agents started against it.
type agentEnv struct {
	t   *testing.T
	srv *server.Server
	log string
}

func newAgentEnv(t *testing.T) *agentEnv {
	log := filepath.Join(t.TempDir(), "worker.log")
	t.Setenv(remotetest.EnvLog, log)
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return &agentEnv{t: t, srv: remotetest.Server(t, nil), log: log}
}

// agent starts "nodeipc agent" for pool with n workers against the test's
// server and waits until it serves.
func (e *agentEnv) agent(pool, name string, n int, args ...string) *cliProc {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	argv := append([]string{"agent", "--nats", e.srv.ClientURL(), "--pool", pool, "-n", fmt.Sprint(n), "--name", name}, args...)
	p := startCLI(e.t, "", append(argv, "--", exe, agentWorkerArg)...)
	waitAgentReady(e.t, p)
	return p
}

// waitAgentReady waits for the agent's "serving" line on stderr.
func waitAgentReady(t *testing.T, p *cliProc) string {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(p.stderr.String(), "serving pool") {
		if time.Now().After(deadline) {
			t.Fatalf("agent not serving within %v; stderr:\n%s", testTimeout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p.stderr.String()
}

// client returns a client of pool on its own connection.
func (e *agentEnv) client(pool string, opts *remote.ClientOptions) *remote.Client {
	e.t.Helper()
	c, err := remote.NewClient(remotetest.Connect(e.t, e.srv.ClientURL()), pool, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// stop stops an agent with SIGTERM and returns its exit status.
func stopAgent(t *testing.T, p *cliProc) int {
	t.Helper()
	p.stdin.Close()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	status, _ := p.wait()
	return status
}

func agentCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Calls spread over several agent processes, each runs exactly once, and
// deadlines, cancellation and progress work end to end; the pool command
// submits to the same agents.
func TestAgentsServeCallsExactlyOnce(t *testing.T) {
	e := newAgentEnv(t)
	agents := []*cliProc{e.agent("spread", "a0", 1), e.agent("spread", "a1", 1), e.agent("spread", "a2", 2)}
	c := e.client("spread", nil)
	ctx := agentCtx(t)

	const calls = 120
	results := make([]remotetest.Where, calls)
	var wg sync.WaitGroup
	errc := make(chan error, calls)
	sem := make(chan struct{}, 8)
	for i := range calls {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errc <- c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{fmt.Sprint("c", i)}, Result: &results[i]})
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	perAgent := map[int]int{}
	seqs := map[int][]int64{} // worker pid -> sequence numbers seen
	for _, w := range results {
		perAgent[w.PPID]++
		seqs[w.PID] = append(seqs[w.PID], w.Seq)
	}
	for i, a := range agents {
		if perAgent[a.cmd.Process.Pid] == 0 {
			t.Errorf("agent a%d (pid %d) ran no call; calls per agent pid: %v", i, a.cmd.Process.Pid, perAgent)
		}
	}
	if len(perAgent) != len(agents) {
		t.Errorf("calls ran under %d parents; want the %d agents: %v", len(perAgent), len(agents), perAgent)
	}
	// Each worker numbers the calls it starts: 1..n with no gap and no
	// repeat means no call ran twice and none ran unseen.
	for pid, s := range seqs {
		slices.Sort(s)
		for i, v := range s {
			if v != int64(i+1) {
				t.Fatalf("worker %d ran calls %v; want 1..%d", pid, s, len(s))
			}
		}
	}
	runs := map[string]int{}
	for _, l := range remotetest.ReadLog(t, e.log) {
		runs[l.Token]++
	}
	for i := range calls {
		if tok := fmt.Sprint("c", i); runs[tok] != 1 {
			t.Errorf("call %s ran %d times; want once", tok, runs[tok])
		}
	}

	t.Run("progress", func(t *testing.T) {
		var got []int
		var n int
		err := c.Do(ctx, &pool.Call{Method: "progress", Params: []any{100}, Result: &n, Progress: func(ev pool.Event) {
			var v struct{ I int }
			ev.Decode(&v)
			got = append(got, v.I)
		}})
		if err != nil || n != 100 || len(got) != 100 {
			t.Fatalf("progress = %d, %v, %d events; want 100 and 100 events", n, err, len(got))
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("event %d is %d; want them in order", i, v)
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := c.Do(dctx, &pool.Call{Method: "hold", Params: []any{"d1"}}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hold past its deadline = %v; want context.DeadlineExceeded", err)
		}
		remotetest.WaitLog(t, e.log, "the worker's cancellation of d1", func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == "d1" })
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		err := c.Do(cctx, &pool.Call{Method: "hold", Params: []any{"x1"}, Progress: func(pool.Event) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled hold = %v; want context.Canceled", err)
		}
		remotetest.WaitLog(t, e.log, "the worker's cancellation of x1", func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == "x1" })
	})
	t.Run("pool command", func(t *testing.T) {
		var in strings.Builder
		for i := range 20 {
			fmt.Fprintf(&in, `{"id":%d,"method":"sleep","params":[%d,%d]}`+"\n", i, (20-i)%5, i)
		}
		in.WriteString(`{"id":20,"method":"fail"}` + "\n")
		status, stdout, stderr := runCLI(t, "", in.String(), "pool", "--nats", e.srv.ClientURL(), "--pool", "spread")
		if status != poolExitFailed {
			t.Fatalf("exit %d; want %d (one call fails)\nstderr:\n%s", status, poolExitFailed, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 21 {
			t.Fatalf("%d lines; want 21:\n%s", len(lines), stdout)
		}
		for i, line := range lines[:20] {
			if want := fmt.Sprintf(`{"id":%d,"result":%d}`, i, i); line != want {
				t.Errorf("line %d = %s; want %s", i, line, want)
			}
		}
		var last struct {
			ID    int
			Error map[string]any
		}
		if err := json.Unmarshal([]byte(lines[20]), &last); err != nil || last.Error["name"] != "RangeError" || last.Error["code"] != "E_RANGE" {
			t.Errorf("last line = %s; want the worker's RangeError", lines[20])
		}
		if !strings.Contains(stderr, "21 calls, 20 ok, 1 failed") {
			t.Errorf("no summary on stderr:\n%s", stderr)
		}
	})

	for _, a := range agents {
		if status := stopAgent(t, a); status != 0 {
			t.Errorf("agent exit status %d after SIGTERM; want 0\nstderr:\n%s", status, a.stderr)
		}
	}
	// Every agent gone: a call fails at once. (No deadline: a call that
	// waited would hang the test.)
	if err := c.Do(context.Background(), &pool.Call{Method: "whoami"}); !errors.Is(err, remote.ErrNoAgents) {
		t.Errorf("Do with every agent stopped = %v; want ErrNoAgents", err)
	}
}

// kill -9 of an agent mid-call: the call fails, or runs again elsewhere if
// it is idempotent; nothing hangs; the agent's workers die with it.
func TestAgentKilledMidCall(t *testing.T) {
	e := newAgentEnv(t)
	agents := map[int]*cliProc{}
	for i := range 3 {
		p := e.agent("kill", fmt.Sprint("k", i), 1)
		agents[p.cmd.Process.Pid] = p
	}
	// A short heartbeat finds the killed agents soon (NATS answers the ping
	// with no responders); a long LostAfter keeps a slow machine from
	// giving up the live ones.
	c := e.client("kill", &remote.ClientOptions{Heartbeat: 100 * time.Millisecond, LostAfter: 10 * time.Second})
	ctx := agentCtx(t)
	marker := filepath.Join(t.TempDir(), "marker")

	var mu sync.Mutex
	var running []remotetest.Where
	started := make(chan struct{}, 2)
	progress := func(ev pool.Event) {
		var w remotetest.Where
		ev.Decode(&w)
		mu.Lock()
		running = append(running, w)
		mu.Unlock()
		started <- struct{}{}
	}
	held, moved := remotetest.HoldAndOnce(ctx, c.Do, marker, progress)
	<-started
	<-started
	// Kill the agents running the two calls (one or two of the three).
	killed := map[int]bool{}
	var workers []int
	mu.Lock()
	for _, w := range running {
		if !killed[w.PPID] {
			killed[w.PPID] = true
			if err := agents[w.PPID].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		workers = append(workers, w.PID)
	}
	mu.Unlock()

	r := <-held
	var we *pool.WorkerError
	if !errors.Is(r.Err, remote.ErrAgentLost) || !errors.As(r.Err, &we) {
		t.Errorf("call on the killed agent = %v; want a WorkerError wrapping ErrAgentLost", r.Err)
	}
	r = <-moved
	if r.Err != nil {
		t.Fatalf("idempotent call on the killed agent = %v; want it to succeed on another", r.Err)
	} else if killed[r.W.PPID] || agents[r.W.PPID] == nil {
		t.Errorf("the retried call ran under pid %d; want a surviving agent (killed: %v)", r.W.PPID, killed)
	}
	if left := remotetest.WaitGone(workers...); len(left) > 0 {
		t.Errorf("workers %v of the killed agents still run", left)
	}
	runs := remotetest.Runs(t, e.log)
	if runs["h1"] != 1 || runs["o1"] != 2 {
		t.Errorf("runs %v; want h1 once and o1 twice (retried)", runs)
	}

	// Kill the rest: once the server has seen them go, a call fails at once.
	for pid, p := range agents {
		if !killed[pid] {
			p.cmd.Process.Kill()
		}
	}
	for _, p := range agents {
		p.wait()
	}
	waitFor(t, "the server to drop the killed agents", func() bool { return e.srv.NumClients() == 1 })
	if err := c.Do(context.Background(), &pool.Call{Method: "whoami"}); !errors.Is(err, remote.ErrNoAgents) {
		t.Errorf("Do with every agent killed = %v; want ErrNoAgents", err)
	}
}

// An agent that stays connected but stops answering (SIGSTOP) is given up
// after LostAfter.
func TestAgentStoppedIsLost(t *testing.T) {
	e := newAgentEnv(t)
	a := e.agent("stop", "s0", 1)
	c := e.client("stop", &remote.ClientOptions{Heartbeat: 100 * time.Millisecond, LostAfter: time.Second})
	started := make(chan remotetest.Where, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Do(agentCtx(t), &pool.Call{Method: "hold", Params: []any{"s1"}, Progress: func(ev pool.Event) {
			var w remotetest.Where
			ev.Decode(&w)
			started <- w
		}})
	}()
	w := <-started
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	var we *pool.WorkerError
	if !errors.Is(err, remote.ErrAgentLost) || !errors.As(err, &we) || !strings.Contains(we.Reason, "no answer") {
		t.Errorf("call on a stopped agent = %v; want a WorkerError wrapping ErrAgentLost", err)
	}
	a.cmd.Process.Kill()
	a.wait()
	if left := remotetest.WaitGone(w.PID); len(left) > 0 {
		t.Errorf("worker %d of the killed agent still runs", w.PID)
	}
}

// An agent with an embedded server on loopback, protected by a token; the
// pool command needs the token, and the agent refuses workerpool's run.
func TestAgentEmbeddedServer(t *testing.T) {
	log := filepath.Join(t.TempDir(), "worker.log")
	t.Setenv(remotetest.EnvLog, log)
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	t.Setenv("NODEIPC_NATS_TOKEN", "")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := startCLI(t, "", "agent", "--listen", "127.0.0.1:0", "--token", "s3cret", "--pool", "emb", "-n", "1", "--", exe, agentWorkerArg)
	m := regexp.MustCompile(`nats://127\.0\.0\.1:\d+`).FindString(waitAgentReady(t, a))
	if m == "" {
		t.Fatalf("no loopback URL in the agent's stderr:\n%s", a.stderr)
	}

	status, stdout, stderr := runCLI(t, "", `{"method":"whoami"}`+"\n", "pool", "--nats", m, "--pool", "emb")
	if status != poolExitSetup || stdout != "" || !strings.Contains(strings.ToLower(stderr), "authorization") {
		t.Errorf("pool without the token: exit %d, stdout %q, stderr %q; want exit 1 and an authorization error", status, stdout, stderr)
	}

	t.Setenv("NODEIPC_NATS_TOKEN", "s3cret")
	status, stdout, stderr = runCLI(t, "", `{"id":1,"method":"whoami","params":["e1"]}`+"\n"+`{"id":2,"method":"run","params":["() => 1",[]]}`+"\n", "pool", "--nats", m, "--pool", "emb")
	if status != poolExitFailed {
		t.Fatalf("pool with the token: exit %d; want %d (run is refused)\nstderr:\n%s", status, poolExitFailed, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"ppid":`+fmt.Sprint(a.cmd.Process.Pid)) || !strings.Contains(lines[1], "refused") {
		t.Errorf("stdout:\n%s\nwant whoami's answer from the agent's worker, then run refused", stdout)
	}

	var first struct{ Result remotetest.Where }
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Result.PID == 0 {
		t.Fatalf("whoami line %q: %v", lines[0], err)
	}

	// SIGTERM lets a running call end, then the agent exits 0 and stops
	// its workers.
	c := startCLI(t, "", "pool", "--nats", m, "--pool", "emb")
	c.send(`{"id":1,"method":"sleep","params":[300,"slept","z1"]}`)
	remotetest.WaitLog(t, log, "the call to start", func(l remotetest.LogLine) bool { return l.Token == "z1" })
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if line := c.recv(); line != `{"id":1,"result":"slept"}` {
		t.Errorf("call running at SIGTERM = %s; want its result", line)
	}
	c.stdin.Close()
	c.wait()
	if status, _ := a.wait(); status != 0 {
		t.Errorf("agent exit %d after SIGTERM; want 0\nstderr:\n%s", status, a.stderr)
	}
	if !strings.Contains(a.stderr.String(), "turned away busy") {
		t.Errorf("no summary on the agent's stderr:\n%s", a.stderr)
	}
	if left := remotetest.WaitGone(first.Result.PID); len(left) > 0 {
		t.Errorf("worker %d still runs after the agent stopped", first.Result.PID)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
