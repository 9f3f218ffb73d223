package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// MaxWeight bounds the number of queue subscriptions of an agent, which
// weight its share of new calls by its slots (see NewAgent).
const MaxWeight = 1024

// acceptDelay is how long a call runs before its agent says it accepted
// it: the answer of a shorter call says so itself, which saves a message.
const acceptDelay = 5 * time.Millisecond

// runMethod is workerpool's built-in method that evaluates the function
// source it is sent.
const runMethod = "run"

// AgentOptions tune an Agent. A nil *AgentOptions means the defaults.
type AgentOptions struct {
	// Name identifies the agent in the errors clients get ("agent NAME:
	// worker 2 (pid 12345)"). Empty means "HOSTNAME:PID".
	Name string

	// AllowRun lets callers use workerpool's built-in "run" method, which
	// evaluates JavaScript source sent by the caller in the worker. It is
	// refused by default (with ErrRefused): whoever can publish to the
	// pool's subject could run any code on the agent's host.
	AllowRun bool
}

// AgentStats is a snapshot of an agent's counters.
type AgentStats struct {
	Capacity int // slots: the local pool's Size × Concurrency
	Running  int // calls accepted and not ended
	Peak     int // the most calls ever running at once

	Calls    int64 // calls accepted
	Busy     int64 // calls turned away because every slot was taken
	Refused  int64 // calls refused (see ErrRefused)
	Canceled int64 // calls cancelled by their client, or whose client was lost
}

// Agent serves the calls of one pool from NATS on a local pool of workers.
// It takes a call only when one of its slots is free and answers "busy"
// otherwise, so it never holds more calls than its workers can run; the
// client then waits for a slot (see Client.Do).
//
// An Agent must be stopped with Shutdown or Close, which stop its local
// pool too; the caller owns the NATS connection and closes it after.
type Agent struct {
	nc       *nats.Conn
	subj     subjects
	local    *pool.Pool
	id, name string
	capacity int
	allowRun bool
	qsubs    []*nats.Subscription // the call queue group, and room
	direct   *nats.Subscription

	calls    sync.WaitGroup // calls running
	runners  sync.WaitGroup // goroutines running calls, idle ones included
	tasks    chan func()    // to idle runners (unbuffered)
	timers   sync.WaitGroup // accept timers armed and not yet stopped or run
	stop     chan struct{}
	done     chan struct{} // closed when the monitor returns
	stopOnce sync.Once
	stopErr  error

	mu      sync.Mutex
	closing bool
	running map[string]*agentCall // by reply subject
	clients map[string]*clientRef // by inbox prefix
	waiters map[string]struct{}   // clients turned away since a slot was last freed
	stats   AgentStats
}

// agentCall is one call an agent runs.
type agentCall struct {
	reply  string
	method string
	idem   bool
	client *clientRef
	ctx    context.Context
	cancel context.CancelCauseFunc

	quiet    bool   // its client cancelled it or is gone: send nothing more (a.mu)
	tooLarge string // why a progress event could not be sent (Progress goroutine)

	acceptMu sync.Mutex // held while "accepted" is decided and sent
	accept   int        // acceptPending, acceptSent or acceptSkipped
	timer    *time.Timer
}

const (
	acceptPending = iota
	acceptSent
	acceptSkipped // the answer went first
)

// clientRef is what an agent knows of a client.
type clientRef struct {
	inbox     string
	lostAfter time.Duration
	seen      time.Time // its last call or ping
	calls     int
}

var (
	errClientLost = errors.New("client lost")
	errStopping   = errors.New("agent stopping")
)

// NewAgent starts a local pool with popts (see pool.New) and serves
// the calls of the pool named name (letters, digits, '-' and '_') from nc
// with it. The
// agent has popts.Size × popts.Concurrency slots (with the pool's
// defaults for zero values) and holds that many queue subscriptions (up
// to MaxWeight): NATS picks one subscription of the group at random for
// each new call, so agents of different sizes get new calls in
// proportion to their slots.
func NewAgent(nc *nats.Conn, name string, popts pool.Options, opts *AgentOptions) (*Agent, error) {
	if nc == nil {
		return nil, errors.New("nodeipc: remote: NewAgent: nil connection")
	}
	subj, err := poolSubjects(name)
	if err != nil {
		return nil, err
	}
	if !nc.HeadersSupported() {
		return nil, errors.New("nodeipc: remote: the NATS server does not support headers (nats-server 2.2 or later is needed)")
	}
	var o AgentOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	size, conc := popts.Size, popts.Concurrency
	if size <= 0 {
		size = runtime.NumCPU()
	}
	if conc <= 0 {
		conc = 1
	}
	p, err := pool.New(popts)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		nc:       nc,
		subj:     subj,
		local:    p,
		id:       nuid.Next(),
		name:     o.Name,
		capacity: size * conc,
		allowRun: o.AllowRun,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		tasks:    make(chan func()),
		running:  make(map[string]*agentCall),
		clients:  make(map[string]*clientRef),
		waiters:  make(map[string]struct{}),
	}
	a.stats.Capacity = a.capacity
	fail := func(err error) (*Agent, error) {
		for _, s := range a.qsubs {
			s.Unsubscribe()
		}
		if a.direct != nil {
			a.direct.Unsubscribe()
		}
		p.Close()
		return nil, fmt.Errorf("nodeipc: remote: agent: %w", err)
	}
	if a.direct, err = nc.Subscribe(subj.agent(a.id, "*"), a.onDirect); err != nil {
		return fail(err)
	}
	room, err := nc.Subscribe(subj.room, a.onProbe)
	if err != nil {
		return fail(err)
	}
	a.qsubs = append(a.qsubs, room)
	for range min(a.capacity, MaxWeight) {
		s, err := nc.QueueSubscribe(subj.call, queueGroup, a.onCall)
		if err != nil {
			return fail(err)
		}
		a.qsubs = append(a.qsubs, s)
	}
	// Once the server has the subscriptions, calls can reach the agent.
	if err := nc.Flush(); err != nil {
		return fail(err)
	}
	go a.monitor()
	return a, nil
}

// ID returns the agent's unique id (a NATS subject token).
func (a *Agent) ID() string { return a.id }

// Name returns the agent's name (see AgentOptions.Name).
func (a *Agent) Name() string { return a.name }

// Capacity returns the agent's number of slots.
func (a *Agent) Capacity() int { return a.capacity }

// onDirect receives the requests sent to this agent alone.
func (a *Agent) onDirect(m *nats.Msg) {
	switch m.Subject[strings.LastIndexByte(m.Subject, '.')+1:] {
	case "call":
		a.onCall(m)
	case "ping":
		a.mu.Lock()
		if cr := a.clients[m.Header.Get(hClient)]; cr != nil {
			cr.seen = time.Now()
		}
		a.mu.Unlock()
		if m.Reply != "" {
			a.publish(&nats.Msg{Subject: m.Reply, Header: nats.Header{hReply: {replyPong}, hAgent: {a.id}}})
		}
	case "cancel":
		a.mu.Lock()
		ac := a.running[string(m.Data)]
		if ac != nil && ac.client.inbox == m.Header.Get(hClient) && !ac.quiet {
			ac.quiet = true
			a.stats.Canceled++
			ac.cancel(context.Canceled)
		}
		a.mu.Unlock()
	}
}

// onCall receives a call, from the queue group or sent to this agent.
func (a *Agent) onCall(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	h := m.Header
	refuse := func(format string, args ...any) {
		a.mu.Lock()
		a.stats.Refused++
		a.mu.Unlock()
		a.reply(m.Reply, replyError, errRefused, messageBody(format, args...), -1)
	}
	if v := h.Get(hVersion); v != protocolVersion {
		refuse("protocol version %q: this agent speaks version %s", v, protocolVersion)
		return
	}
	method := h.Get(hMethod)
	if method == "" {
		refuse("no method")
		return
	}
	if method == runMethod && !a.allowRun {
		refuse("workerpool's %q method runs code sent by the caller; this agent refuses it (AgentOptions.AllowRun, nodeipc agent --allow-run)", runMethod)
		return
	}
	var params []json.RawMessage
	if err := jsontext.Unmarshal(m.Data, &params); err != nil {
		refuse("the params are not a JSON array: %v", err)
		return
	}
	inbox := h.Get(hClient)
	now := time.Now()

	a.mu.Lock()
	if a.closing || len(a.running) >= a.capacity {
		a.stats.Busy++
		if inbox != "" {
			a.waiters[inbox] = struct{}{}
		}
		a.mu.Unlock()
		a.reply(m.Reply, replyBusy, "", nil, 0)
		return
	}
	cr := a.clients[inbox]
	if cr == nil {
		cr = &clientRef{inbox: inbox}
		a.clients[inbox] = cr
	}
	cr.lostAfter = 3 * DefaultHeartbeat
	if d, ok := parseMillis(h.Get(hLostAfter)); ok {
		cr.lostAfter = d
	}
	cr.seen = now
	cr.calls++
	ctx, cancel := context.WithCancelCause(context.Background())
	ac := &agentCall{reply: m.Reply, method: method, idem: h.Get(hIdem) == "true", client: cr, ctx: ctx, cancel: cancel}
	if d, ok := parseMillis(h.Get(hTimeout)); ok {
		var stopTimer context.CancelFunc
		ac.ctx, stopTimer = context.WithTimeout(ctx, d)
		ac.cancel = func(cause error) {
			cancel(cause)
			stopTimer()
		}
	}
	a.running[m.Reply] = ac
	a.stats.Calls++
	a.stats.Peak = max(a.stats.Peak, len(a.running))
	a.calls.Add(1)
	a.timers.Add(1)
	ac.timer = time.AfterFunc(acceptDelay, func() {
		defer a.timers.Done()
		a.accepted(ac)
	})
	a.mu.Unlock()
	a.spawn(func() { a.run(ac, params) })
}

// spawn runs f on an idle runner, or on a new one that then waits for more
// until the agent stops. Reusing runners keeps the stacks that calls grew.
func (a *Agent) spawn(f func()) {
	select {
	case a.tasks <- f:
		return
	default:
	}
	a.runners.Add(1)
	go func() {
		defer a.runners.Done()
		for {
			f()
			select {
			case f = <-a.tasks:
			case <-a.stop:
				return
			}
		}
	}()
}

// accepted sends "accepted" for ac unless it was sent or the answer went
// first. Events call it before they go, so the client learns which agent
// runs the call before it hears about its progress.
func (a *Agent) accepted(ac *agentCall) {
	ac.acceptMu.Lock()
	defer ac.acceptMu.Unlock()
	if ac.accept != acceptPending {
		return
	}
	ac.accept = acceptSent
	a.publish(&nats.Msg{Subject: ac.reply, Header: nats.Header{
		hReply:     {replyAccepted},
		hAgent:     {a.id},
		hAgentName: {a.name},
	}})
}

// onProbe answers a client's request for room with the free slots; a busy
// agent answers nothing and notes the client, to tell it when a slot frees.
func (a *Agent) onProbe(m *nats.Msg) {
	if m.Reply == "" || m.Header.Get(hVersion) != protocolVersion {
		return
	}
	a.mu.Lock()
	free := a.capacity - len(a.running)
	if a.closing {
		free = 0
	}
	if free <= 0 {
		if inbox := m.Header.Get(hClient); inbox != "" {
			a.waiters[inbox] = struct{}{}
		}
	}
	a.mu.Unlock()
	if free <= 0 {
		return
	}
	a.publish(&nats.Msg{Subject: m.Reply, Header: nats.Header{
		hReply:     {replyFree},
		hAgent:     {a.id},
		hAgentName: {a.name},
		hFree:      {strconv.Itoa(free)},
	}})
}

// run runs ac on the local pool and sends its answer.
func (a *Agent) run(ac *agentCall, params []json.RawMessage) {
	defer a.calls.Done()
	ps := make([]any, len(params))
	for i, p := range params {
		ps[i] = p
	}
	var result json.RawMessage
	err := a.local.Do(ac.ctx, &pool.Call{
		Method:     ac.method,
		Params:     ps,
		Result:     &result,
		Progress:   func(ev pool.Event) { a.event(ac, ev) },
		Idempotent: ac.idem,
	})
	cause := context.Cause(ac.ctx)
	ac.cancel(nil)
	if ac.timer.Stop() {
		a.timers.Done()
	}
	ac.acceptMu.Lock()
	if ac.accept == acceptPending {
		ac.accept = acceptSkipped // the answer says it
	}
	ac.acceptMu.Unlock()

	a.mu.Lock()
	delete(a.running, ac.reply)
	ac.client.calls--
	quiet := ac.quiet
	free := a.capacity - len(a.running)
	if a.closing {
		free = 0
	}
	// Tell the clients turned away that a slot is free; the client of this
	// call learns it from the answer.
	var notify []string
	if free > 0 {
		for inbox := range a.waiters {
			if quiet || inbox != ac.client.inbox {
				notify = append(notify, inbox)
			}
		}
		if len(notify) > 0 {
			clear(a.waiters)
		}
	}
	a.mu.Unlock()

	if !quiet {
		a.answer(ac, result, err, cause, free)
	}
	for _, inbox := range notify {
		a.publish(&nats.Msg{Subject: inbox + replyFree, Header: nats.Header{
			hReply:     {replyFree},
			hAgent:     {a.id},
			hAgentName: {a.name},
			hFree:      {strconv.Itoa(free)},
		}})
	}
}

// answer sends the end of call ac: its result or its error.
func (a *Agent) answer(ac *agentCall, result json.RawMessage, err, cause error, free int) {
	var ce *pool.CallError
	var we *pool.WorkerError
	switch {
	case ac.tooLarge != "":
		a.reply(ac.reply, replyError, errTooLarge, messageBody("%s", ac.tooLarge), free)
	case err == nil:
		if len(result) == 0 {
			result = json.RawMessage("null")
		}
		if n := headerSize(a.replyHeader(replyResult, "", free)) + len(result); int64(n) > a.nc.MaxPayload() {
			a.reply(ac.reply, replyError, errTooLarge, messageBody("the result is %d bytes, over the NATS server's max_payload of %d", n, a.nc.MaxPayload()), free)
			return
		}
		a.reply(ac.reply, replyResult, "", result, free)
	case errors.Is(cause, errStopping):
		a.reply(ac.reply, replyError, errLost, messageBody("the agent stopped before the call ended"), free)
	case errors.As(err, &ce):
		b, merr := json.Marshal(ce)
		if merr != nil {
			b = messageBody("%s", ce.Error())
		}
		a.reply(ac.reply, replyError, errCall, b, free)
	case errors.As(err, &we):
		b, _ := json.Marshal(wireWorkerError{Worker: we.Worker, Reason: we.Reason, Stderr: we.Stderr})
		a.reply(ac.reply, replyError, errWorker, b, free)
	case errors.Is(err, context.DeadlineExceeded):
		a.reply(ac.reply, replyError, errDeadline, messageBody("the call's deadline passed"), free)
	default:
		a.reply(ac.reply, replyError, "", messageBody("%v", err), free)
	}
}

// event sends a progress event of ac. It runs on the local pool's
// receiving goroutine, one event at a time.
func (a *Agent) event(ac *agentCall, ev pool.Event) {
	if ac.tooLarge != "" {
		return
	}
	a.mu.Lock()
	quiet := ac.quiet
	a.mu.Unlock()
	if quiet {
		return
	}
	m := &nats.Msg{Subject: ac.reply, Header: nats.Header{hReply: {replyEvent}, hAgent: {a.id}}, Data: []byte(ev.String())}
	if n := headerSize(m.Header) + len(m.Data); int64(n) > a.nc.MaxPayload() {
		ac.tooLarge = fmt.Sprintf("a progress event is %d bytes, over the NATS server's max_payload of %d", n, a.nc.MaxPayload())
		ac.cancel(nodeipc.ErrMessageTooLarge)
		return
	}
	a.accepted(ac)
	a.publish(m)
}

func (a *Agent) replyHeader(kind, errKind string, free int) nats.Header {
	h := nats.Header{hReply: {kind}, hAgent: {a.id}, hAgentName: {a.name}}
	if errKind != "" {
		h[hError] = []string{errKind}
	}
	if free >= 0 {
		h[hFree] = []string{strconv.Itoa(free)}
	}
	return h
}

// reply sends one message about a call; free < 0 leaves hFree out.
func (a *Agent) reply(subject, kind, errKind string, body []byte, free int) {
	a.publish(&nats.Msg{Subject: subject, Header: a.replyHeader(kind, errKind, free), Data: body})
}

// publish sends m. An error means the connection is closed or
// reconnecting beyond its buffer; the client then loses the agent.
func (a *Agent) publish(m *nats.Msg) { a.nc.PublishMsg(m) }

// monitor cancels the calls of clients that went silent.
func (a *Agent) monitor() {
	defer close(a.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		a.mu.Lock()
		for inbox, cr := range a.clients {
			switch {
			case cr.calls == 0:
				if now.Sub(cr.seen) > cr.lostAfter {
					delete(a.clients, inbox)
				}
			case now.Sub(cr.seen) > cr.lostAfter:
				for _, ac := range a.running {
					if ac.client == cr && !ac.quiet {
						ac.quiet = true
						a.stats.Canceled++
						ac.cancel(errClientLost)
					}
				}
			}
		}
		a.mu.Unlock()
	}
}

// Stats returns a snapshot of the agent's counters.
func (a *Agent) Stats() AgentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Running = len(a.running)
	return s
}

// Shutdown stops the agent gracefully: it takes no new calls (NATS sends
// them to other agents), lets the running ones end until ctx is done,
// then cancels those left, whose clients get an error wrapping
// ErrAgentLost (idempotent calls are sent again elsewhere), stops the
// local pool and joins the agent's goroutines. It returns ctx's error if
// calls had to be cancelled, or the first error met. Shutdown and Close
// may be called more than once and concurrently.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	first := !a.closing
	a.closing = true
	a.mu.Unlock()
	var errs []error
	if first {
		for _, s := range a.qsubs {
			if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, err)
			}
		}
		a.nc.Flush()
	}
	idle := make(chan struct{})
	go func() {
		a.calls.Wait()
		close(idle)
	}()
	var ctxErr error
	select {
	case <-idle:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		a.mu.Lock()
		for _, ac := range a.running {
			ac.cancel(errStopping)
		}
		a.mu.Unlock()
		<-idle
	}
	a.stopOnce.Do(func() {
		a.timers.Wait()
		close(a.stop)
		<-a.done
		a.runners.Wait()
		if err := a.direct.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
		if err := a.local.Close(); err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			a.stopErr = fmt.Errorf("nodeipc: remote: agent: %w", errors.Join(errs...))
		}
	})
	if ctxErr != nil {
		return ctxErr
	}
	return a.stopErr
}

// Close stops the agent at once: like Shutdown with a context that is
// already done.
func (a *Agent) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := a.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return a.stopErr
	}
	return err
}
