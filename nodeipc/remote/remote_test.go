package remote_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"nodeipc.dev/internal/remotetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
	"nodeipc.dev/nodeipc/remote"
)

// The test binary doubles as the agents' worker (remotetest.Handlers).
const envWorker = "NODEIPC_REMOTE_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		os.Exit(remotetest.WorkerMain())
	}
	goleak.VerifyTestMain(m)
}

// testEnv is a NATS server on loopback and a worker log.
type testEnv struct {
	t   testing.TB
	srv *server.Server
	log string
}

func newEnv(t testing.TB, opts *server.Options) *testEnv {
	t.Setenv("GORACE", "atexit_sleep_ms=0") // the workers are race binaries too
	return &testEnv{t: t, srv: remotetest.Server(t, opts), log: filepath.Join(t.TempDir(), "worker.log")}
}

func (e *testEnv) conn() *nats.Conn { return remotetest.Connect(e.t, e.srv.ClientURL()) }

// agent starts an agent of pool with size workers on its own connection;
// it is closed when the test ends.
func (e *testEnv) agent(pool, name string, size int, opts *remote.AgentOptions) (*remote.Agent, *nats.Conn) {
	e.t.Helper()
	nc := e.conn()
	o := remote.AgentOptions{Name: name}
	if opts != nil {
		o = *opts
		o.Name = name
	}
	a, err := remote.NewAgent(nc, pool, e.poolOptions(size), &o)
	if err != nil {
		e.t.Fatalf("NewAgent: %v", err)
	}
	e.t.Cleanup(func() { a.Close() })
	return a, nc
}

// poolOptions are the options of a pool of size test workers.
func (e *testEnv) poolOptions(size int) pool.Options {
	return pool.Options{
		Size: size,
		Command: func(int) *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), envWorker+"=1", remotetest.EnvLog+"="+e.log)
			return cmd
		},
	}
}

// client returns a client of pool on its own connection; it is closed when
// the test ends.
func (e *testEnv) client(pool string, opts *remote.ClientOptions) *remote.Client {
	e.t.Helper()
	c, err := remote.NewClient(e.conn(), pool, opts)
	if err != nil {
		e.t.Fatalf("NewClient: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// testCtx bounds a test's calls, so that a bug fails the test instead of
// hanging it. It is not a performance assertion.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCallResultsErrorsAndProgress(t *testing.T) {
	e := newEnv(t, nil)
	e.agent("basic", "agent-a", 2, nil)
	c := e.client("basic", nil)
	ctx := testCtx(t)

	var w remotetest.Where
	if err := c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{"t1"}, Result: &w}); err != nil {
		t.Fatalf("whoami: %v", err)
	}
	if w.PPID != os.Getpid() || w.Seq != 1 {
		t.Errorf("whoami = %+v; want a worker of this process (ppid %d) at seq 1", w, os.Getpid())
	}

	// Params are encoded as JSON.stringify would (NaN is null), as the
	// local pool does.
	var v any = "unset"
	if err := c.Do(ctx, &pool.Call{Method: "sleep", Params: []any{0, math.NaN()}, Result: &v}); err != nil || v != nil {
		t.Errorf("sleep(0, NaN) = %v, %v; want null", v, err)
	}

	err := c.Do(ctx, &pool.Call{Method: "fail"})
	var ce *pool.CallError
	if !errors.As(err, &ce) || ce.Name != "RangeError" || ce.Message != "out of range" || func() any { v, _ := ce.Data.Get("code"); return v }() != "E_RANGE" {
		t.Errorf("fail: %v (%#v); want the worker's RangeError with its code", err, ce)
	}
	if err := c.Do(ctx, &pool.Call{Method: "nosuchmethod"}); !errors.As(err, &ce) || !strings.Contains(ce.Message, "nosuchmethod") {
		t.Errorf("unknown method: %v; want a CallError naming it", err)
	}

	var got []int
	var n int
	err = c.Do(ctx, &pool.Call{Method: "progress", Params: []any{200}, Result: &n, Progress: func(ev pool.Event) {
		var v struct{ I int }
		if err := ev.Decode(&v); err != nil {
			t.Errorf("event %s: %v", ev, err)
		}
		got = append(got, v.I)
	}})
	if err != nil || n != 200 {
		t.Fatalf("progress = %d, %v; want 200", n, err)
	}
	if len(got) != 200 {
		t.Fatalf("%d events; want 200", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d is %d; want them in order", i, v)
		}
	}

	err = c.Do(ctx, &pool.Call{Method: "crash"})
	var we *pool.WorkerError
	if !errors.As(err, &we) || !strings.HasPrefix(we.Worker, "agent agent-a: worker ") || !strings.Contains(strings.Join(we.Stderr, "\n"), "worker crashing") {
		t.Errorf("crash: %v (%#v); want a WorkerError naming the agent and the worker, with its stderr", err, we)
	}
	if errors.Is(err, remote.ErrAgentLost) {
		t.Errorf("crash: %v; a worker crash is not a lost agent", err)
	}
	// The agent's pool replaces the worker; the pool goes on.
	if err := c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{"t2"}, Result: &w}); err != nil {
		t.Fatalf("whoami after the crash: %v", err)
	}
}

func TestNoAgentsFailsAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client("empty", nil)
	// No deadline: a call that waited for an agent would hang the test.
	err := c.Do(context.Background(), &pool.Call{Method: "whoami"})
	if !errors.Is(err, remote.ErrNoAgents) {
		t.Fatalf("Do with no agents = %v; want ErrNoAgents", err)
	}
	if !strings.Contains(err.Error(), `"empty"`) {
		t.Errorf("error %q does not name the pool", err)
	}

	// An agent comes and goes.
	a, _ := e.agent("empty", "agent-a", 1, nil)
	if err := c.Do(testCtx(t), &pool.Call{Method: "whoami"}); err != nil {
		t.Fatalf("Do with an agent: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("agent Close: %v", err)
	}
	if err := c.Do(context.Background(), &pool.Call{Method: "whoami"}); !errors.Is(err, remote.ErrNoAgents) {
		t.Fatalf("Do after the agent left = %v; want ErrNoAgents", err)
	}
}

func TestPayloadsOverMaxPayloadAreRefused(t *testing.T) {
	const limit = 16 << 10
	e := newEnv(t, &server.Options{MaxPayload: limit})
	a, _ := e.agent("sizes", "agent-a", 1, nil)
	c := e.client("sizes", nil)
	ctx := testCtx(t)

	err := c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{strings.Repeat("p", limit)}})
	if !errors.Is(err, nodeipc.ErrMessageTooLarge) || !strings.Contains(err.Error(), "max_payload") {
		t.Errorf("oversize params: %v; want ErrMessageTooLarge naming max_payload", err)
	}
	if s := a.Stats(); s.Calls != 0 {
		t.Errorf("the agent took %d calls; the oversize call must not be sent", s.Calls)
	}
	if err := c.Do(ctx, &pool.Call{Method: "big", Params: []any{limit}}); !errors.Is(err, nodeipc.ErrMessageTooLarge) {
		t.Errorf("oversize result: %v; want ErrMessageTooLarge", err)
	}
	if err := c.Do(ctx, &pool.Call{Method: "bigevent", Params: []any{limit}, Progress: func(pool.Event) {
		t.Error("an oversize event was delivered")
	}}); !errors.Is(err, nodeipc.ErrMessageTooLarge) {
		t.Errorf("oversize event: %v; want ErrMessageTooLarge", err)
	}
	// Nothing else was lost.
	var s string
	if err := c.Do(ctx, &pool.Call{Method: "big", Params: []any{limit / 2}, Result: &s}); err != nil || len(s) != limit/2 {
		t.Errorf("a result under the limit: %d bytes, %v", len(s), err)
	}
}

func TestRunIsRefusedUnlessAllowed(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("safe", "agent-a", 1, nil)
	e.agent("open", "agent-b", 1, &remote.AgentOptions{AllowRun: true})
	ctx := testCtx(t)

	err := e.client("safe", nil).Do(ctx, &pool.Call{Method: "run", Params: []any{"function () { return 1 }", []any{}}})
	if !errors.Is(err, remote.ErrRefused) || !strings.Contains(err.Error(), "run") {
		t.Errorf("run on a default agent: %v; want ErrRefused", err)
	}
	if s := a.Stats(); s.Refused != 1 || s.Calls != 0 {
		t.Errorf("agent stats %+v; want 1 refused, 0 calls", s)
	}
	var got string
	if err := e.client("open", nil).Do(ctx, &pool.Call{Method: "run", Result: &got}); err != nil || got != "ran" {
		t.Errorf("run with AllowRun = %q, %v; want the worker's answer", got, err)
	}
}

// New calls are spread by slots, and no agent ever holds more calls than
// it has slots.
func TestPlacementFollowsSlots(t *testing.T) {
	e := newEnv(t, nil)
	small, _ := e.agent("place", "small", 1, nil)
	large, _ := e.agent("place", "large", 3, nil)
	c := e.client("place", nil)
	ctx := testCtx(t)

	// One call at a time: every agent is free, NATS picks among 4
	// subscriptions, 1 of them small's.
	const seq = 200
	for i := range seq {
		if err := c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{fmt.Sprint("s", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	sc, lc := small.Stats().Calls, large.Stats().Calls
	if sc+lc != seq {
		t.Fatalf("agents took %d + %d calls; want %d", sc, lc, seq)
	}
	// Binomial(200, 1/4): mean 50, sd 6.1; these bounds are 5 sd out.
	if sc < 20 || sc > 80 {
		t.Errorf("small (1 slot) took %d of %d calls, large (3 slots) %d; want about a quarter", sc, seq, lc)
	}

	// Saturated: 48 calls at once on 4 slots.
	var wg sync.WaitGroup
	errc := make(chan error, 48)
	for i := range 48 {
		wg.Go(func() { errc <- c.Do(ctx, &pool.Call{Method: "sleep", Params: []any{20, i}}) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	ss, ls := small.Stats(), large.Stats()
	if ss.Peak > ss.Capacity || ls.Peak > ls.Capacity {
		t.Errorf("peaks %d/%d and %d/%d: an agent held more calls than slots", ss.Peak, ss.Capacity, ls.Peak, ls.Capacity)
	}
	if ss.Busy+ls.Busy == 0 {
		t.Errorf("no call was turned away busy; the test did not saturate the agents")
	}
	if ds, dl := ss.Calls-sc, ls.Calls-lc; ds+dl != 48 || dl <= ds {
		t.Errorf("saturated: small took %d, large %d of 48; want large to take more", ds, dl)
	}
	if st := c.Stats(); st.Waiting != 0 || st.InFlight != 0 || st.Calls != seq+48 {
		t.Errorf("client stats %+v after every call returned", st)
	}
}

// Calls turned away wait in the client and run in the order they were made.
func TestWaitingCallsRunInOrder(t *testing.T) {
	e := newEnv(t, nil)
	e.agent("order", "agent-a", 1, nil)
	c := e.client("order", nil)
	ctx := testCtx(t)

	holdCtx, release := context.WithCancel(ctx)
	started := make(chan struct{}, 1)
	holdErr := make(chan error, 1)
	go func() {
		holdErr <- c.Do(holdCtx, &pool.Call{Method: "hold", Params: []any{"h"}, Progress: func(pool.Event) { started <- struct{}{} }})
	}()
	<-started
	const n = 5
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- c.Do(ctx, &pool.Call{Method: "whoami", Params: []any{fmt.Sprint("w", i)}}) }()
		waitFor(t, fmt.Sprintf("%d calls waiting", i+1), func() bool { return c.Stats().Waiting == i+1 })
	}
	release()
	if err := <-holdErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("hold = %v; want context.Canceled", err)
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for _, l := range remotetest.ReadLog(t, e.log) {
		if l.What == "ran" && strings.HasPrefix(l.Token, "w") {
			order = append(order, l.Token)
		}
	}
	if want := []string{"w0", "w1", "w2", "w3", "w4"}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("waiting calls ran in the order %v; want %v", order, want)
	}
}

func TestCancelAndDeadlineReachTheWorker(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("cancel", "agent-a", 1, nil)
	c := e.client("cancel", nil)
	ctx := testCtx(t)

	cctx, cancel := context.WithCancel(ctx)
	err := c.Do(cctx, &pool.Call{Method: "hold", Params: []any{"c1"}, Progress: func(pool.Event) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled hold = %v; want context.Canceled", err)
	}
	remotetest.WaitLog(t, e.log, "cancellation of c1", func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == "c1" })

	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer dcancel()
	err = c.Do(dctx, &pool.Call{Method: "hold", Params: []any{"d1"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hold past its deadline = %v; want context.DeadlineExceeded", err)
	}
	remotetest.WaitLog(t, e.log, "cancellation of d1", func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == "d1" })

	waitFor(t, "the agent to free its slot", func() bool { return a.Stats().Running == 0 })
	if s := a.Stats(); s.Canceled < 1 || s.Calls != 2 {
		t.Errorf("agent stats %+v; want 2 calls, the cancelled one counted", s)
	}
	if err := c.Do(ctx, &pool.Call{Method: "whoami"}); err != nil {
		t.Fatalf("a call after the cancellations: %v", err)
	}
}

// A call cancelled at any moment, before or after an agent acknowledged
// it, does not go on running on its worker.
func TestCancelAtAnyMoment(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("anytime", "agent-a", 1, nil)
	c := e.client("anytime", nil)
	ctx := testCtx(t)
	for i := range 20 {
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- c.Do(cctx, &pool.Call{Method: "hold", Params: []any{fmt.Sprint("a", i)}}) }()
		time.Sleep(time.Duration(i) * 500 * time.Microsecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d = %v; want context.Canceled", i, err)
		}
		waitFor(t, "the agent to free its slot", func() bool { return a.Stats().Running == 0 })
	}
	ran := map[string]bool{}
	for _, l := range remotetest.ReadLog(t, e.log) {
		if l.What == "ran" {
			ran[l.Token] = true
		}
	}
	for tok := range ran {
		remotetest.WaitLog(t, e.log, "the cancellation of "+tok, func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == tok })
	}
	if len(ran) == 0 {
		t.Error("no call reached a worker; the test cancelled every one too early")
	}
}

// An agent cancels the calls of a client that went away.
func TestLostClientsCallsAreCancelled(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("gone", "agent-a", 1, nil)
	nc := e.conn()
	c, err := remote.NewClient(nc, "gone", &remote.ClientOptions{Heartbeat: 50 * time.Millisecond, LostAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Do(testCtx(t), &pool.Call{Method: "hold", Params: []any{"g1"}, Progress: func(pool.Event) { started <- struct{}{} }})
	}()
	<-started
	nc.Close() // the client's process "dies": no more pings
	remotetest.WaitLog(t, e.log, "cancellation of g1", func(l remotetest.LogLine) bool { return l.What == "cancelled" && l.Token == "g1" })
	waitFor(t, "the agent to free its slot", func() bool { return a.Stats().Running == 0 })
	// The client, cut off, gives the agent up in turn.
	if err := <-errc; !errors.Is(err, remote.ErrAgentLost) {
		t.Errorf("Do on a closed connection = %v; want ErrAgentLost", err)
	}
	c.Close()
}

// An agent whose connection ends mid-call: its calls fail, except
// idempotent ones, which run again on another agent.
func TestLostAgentsCallsFailOrMove(t *testing.T) {
	e := newEnv(t, nil)
	a, anc := e.agent("lost", "agent-a", 2, nil)
	// A short heartbeat finds the closed connection soon; a long LostAfter
	// keeps a slow machine from giving up the live agent.
	c := e.client("lost", &remote.ClientOptions{Heartbeat: 50 * time.Millisecond, LostAfter: 10 * time.Second})
	ctx := testCtx(t)
	marker := filepath.Join(t.TempDir(), "marker")

	started := make(chan struct{}, 2)
	progress := func(pool.Event) { started <- struct{}{} }
	held, moved := remotetest.HoldAndOnce(ctx, c.Do, marker, progress)
	<-started
	<-started
	b, _ := e.agent("lost", "agent-b", 1, nil)
	anc.Close() // agent-a drops off NATS while it runs both calls

	r := <-held
	var we *pool.WorkerError
	if !errors.Is(r.Err, remote.ErrAgentLost) || !errors.As(r.Err, &we) || we.Worker != "agent agent-a" {
		t.Errorf("non-idempotent call on the lost agent: %v; want a WorkerError of agent agent-a wrapping ErrAgentLost", r.Err)
	}
	r = <-moved
	if r.Err != nil {
		t.Fatalf("idempotent call on the lost agent: %v; want it to run again elsewhere", r.Err)
	}
	if s := b.Stats(); s.Calls != 1 {
		t.Errorf("agent-b took %d calls; want the retried one", s.Calls)
	}
	if s := c.Stats(); s.Retries != 1 || s.AgentsLost != 1 {
		t.Errorf("client stats %+v; want 1 retry, 1 agent lost", s)
	}
	a.Close()
	runs := remotetest.Runs(t, e.log)
	if runs["h1"] != 1 || runs["o1"] != 2 {
		t.Errorf("runs %v; want h1 once (at most once) and o1 twice (retried)", runs)
	}
}

func TestShutdownLetsCallsEnd(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("drain", "agent-a", 2, nil)
	c := e.client("drain", nil)
	ctx := testCtx(t)

	started := make(chan struct{}, 1)
	errc := make(chan error, 1)
	var got int
	go func() {
		errc <- c.Do(ctx, &pool.Call{Method: "sleep", Params: []any{300, 7}, Result: &got})
	}()
	waitFor(t, "the call to run", func() bool { return a.Stats().Running == 1 })
	close(started)
	done := make(chan error, 1)
	go func() { done <- a.Shutdown(ctx) }()
	// The agent takes no new call while it drains.
	waitFor(t, "the agent to leave the queue group", func() bool {
		return errors.Is(c.Do(ctx, &pool.Call{Method: "whoami"}), remote.ErrNoAgents)
	})
	if err := <-errc; err != nil || got != 7 {
		t.Errorf("running call during Shutdown = %d, %v; want it to end normally", got, err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	// A Shutdown whose context ends cancels what runs.
	b, _ := e.agent("drain", "agent-b", 1, nil)
	holdc := make(chan error, 1)
	go func() {
		holdc <- c.Do(ctx, &pool.Call{Method: "hold", Params: []any{"s1"}})
	}()
	waitFor(t, "the call to run", func() bool { return b.Stats().Running == 1 })
	sctx, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if err := b.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v; want context.DeadlineExceeded", err)
	}
	if err := <-holdc; !errors.Is(err, remote.ErrAgentLost) {
		t.Errorf("call cut by Shutdown = %v; want ErrAgentLost", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after Shutdown = %v", err)
	}
}

// Two clients share one slot: the one turned away is told when it frees.
func TestClientsShareAnAgent(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.agent("share", "agent-a", 1, nil)
	c1, c2 := e.client("share", nil), e.client("share", nil)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errc := make(chan error, 40)
	for i := range 20 {
		for _, c := range []*remote.Client{c1, c2} {
			wg.Go(func() { errc <- c.Do(ctx, &pool.Call{Method: "sleep", Params: []any{2, i}}) })
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := a.Stats(); s.Calls != 40 || s.Peak != 1 {
		t.Errorf("agent stats %+v; want 40 calls, never more than 1 at once", s)
	}
}

func TestClosedClient(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client("closed", nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := c.Do(context.Background(), &pool.Call{Method: "whoami"}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Do after Close = %v; want net.ErrClosed", err)
	}
}

func TestBadArguments(t *testing.T) {
	e := newEnv(t, nil)
	nc := e.conn()
	for _, name := range []string{"", "a.b", "a b", "*", ">", strings.Repeat("x", 200)} {
		if _, err := remote.NewClient(nc, name, nil); err == nil {
			t.Errorf("NewClient(%q) succeeded; want an error", name)
		}
	}
	c := e.client("args", nil)
	for _, call := range []*pool.Call{nil, {}, {Method: "a\nb"}, {Method: "whoami", Params: []any{func() {}}}} {
		if err := c.Do(context.Background(), call); err == nil {
			t.Errorf("Do(%+v) succeeded; want an error", call)
		}
	}
}

// waitFor polls cond for up to 20 seconds; the bound only keeps a bug from
// hanging the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
