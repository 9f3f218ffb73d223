package remote

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// DefaultHeartbeat is how often a client pings the agents running its
// calls when ClientOptions.Heartbeat is zero.
const DefaultHeartbeat = time.Second

// ClientOptions tune a Client. A nil *ClientOptions means the defaults.
type ClientOptions struct {
	// Heartbeat is how often the client pings each agent that runs one of
	// its calls. An agent whose connection to NATS has ended answers the
	// next ping with NATS's "no responders" status, so its calls fail
	// within one Heartbeat. Zero means DefaultHeartbeat.
	Heartbeat time.Duration

	// LostAfter is how long an agent may stay silent (no answer to pings,
	// no message about a call) before its calls fail with ErrAgentLost;
	// a call no agent acknowledges within LostAfter fails the same way.
	// Agents apply the same bound to the client: a client silent for
	// LostAfter is taken for gone and its calls are cancelled. Zero means
	// 3 × Heartbeat.
	LostAfter time.Duration

	// Retries is how many times a call marked Idempotent is sent again,
	// to any agent, when the agent running it is lost. Zero means 1;
	// negative means never.
	Retries int
}

// Stats is a snapshot of a client's counters.
type Stats struct {
	InFlight int // calls sent to an agent and not answered
	Waiting  int // calls waiting for an agent with a free slot
	Agents   int // agents running this client's calls

	Calls      int64 // calls answered with a result
	Failures   int64 // calls answered with an error, or whose agent was lost
	Canceled   int64 // calls whose context ended first
	Retries    int64 // idempotent calls sent again after their agent was lost
	AgentsLost int64 // agents given up while they ran calls

	// Latency percentiles of the last 1024 answered calls, from Do to the
	// answer (waiting for a free slot included).
	LatencyP50, LatencyP90, LatencyP99 time.Duration
}

// Client submits calls to the agents of one pool over NATS. It has the
// local pool's call API: Do takes a *pool.Call and returns the same
// error types (see Do).
//
// Do is safe for concurrent use. Close must be called to join the client's
// goroutine; the caller owns the NATS connection and closes it after.
type Client struct {
	nc    *nats.Conn
	name  string // the pool's
	subj  subjects
	o     ClientOptions
	inbox string // the client's inbox prefix, with a trailing "."
	sub   *nats.Subscription

	kick chan struct{} // wakes the monitor
	stop chan struct{}
	done chan struct{} // closed when the monitor returns

	active    sync.WaitGroup // Do calls in progress
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	closed  bool
	nextSeq uint64
	nextID  uint64
	pending map[uint64]*request // by the id of their current attempt
	waiting []*request          // waiting for a free slot, in Do order
	agents  map[string]*agentRef
	probeAt time.Time     // when the next probe is due (zero: none)
	backoff time.Duration // between probes
	dropped uint64        // messages NATS dropped on sub, as last seen
	stats   Stats
	lat     []time.Duration
	latNext int
}

type callState int

const (
	stateSending  callState = iota // published, no answer yet
	stateWaiting                   // every agent tried was busy
	stateRunning                   // accepted by agent
	stateFinished                  // answered, failed or abandoned
)

// request is one Do in the client.
type request struct {
	seq   uint64 // Do order: the wait list is sorted by it
	id    uint64 // the current attempt: the reply subject's last token
	c     *pool.Call
	ctx   context.Context
	body  []byte // the params, a JSON array
	start time.Time

	state     callState
	agent     *agentRef // the agent it was sent to directly, or that accepted it
	sentAt    time.Time
	attempts  int  // retries used
	abandoned bool // Do returned: cancel it on the agent that accepts it

	done   chan struct{}
	result json.RawMessage
	err    error

	evMu     sync.Mutex // held while Progress runs
	evClosed bool       // Do has returned: no more Progress calls
}

// agentRef is what a client knows of an agent.
type agentRef struct {
	id, name string
	calls    int       // this client's calls sent to it or running on it
	heard    time.Time // its last message
}

func (a *agentRef) label() string {
	if a == nil {
		return "agent (unknown)"
	}
	return "agent " + a.name
}

// outMsg is a message to publish once c.mu is released; cl is the call it
// sends, if any, which fails if the publish does.
type outMsg struct {
	m  *nats.Msg
	cl *request
	id uint64
}

// NewClient returns a client for the pool named name (letters, digits, '-'
// and '_') on nc. Agents may come and go while it runs.
func NewClient(nc *nats.Conn, name string, opts *ClientOptions) (*Client, error) {
	if nc == nil {
		return nil, errors.New("nodeipc: remote: NewClient: nil connection")
	}
	subj, err := poolSubjects(name)
	if err != nil {
		return nil, err
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.LostAfter <= 0 {
		o.LostAfter = 3 * o.Heartbeat
	}
	if o.Retries == 0 {
		o.Retries = 1
	}
	if !nc.HeadersSupported() {
		return nil, errors.New("nodeipc: remote: the NATS server does not support headers (nats-server 2.2 or later is needed)")
	}
	c := &Client{
		nc:      nc,
		name:    name,
		subj:    subj,
		o:       o,
		inbox:   nc.NewInbox() + ".",
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: make(map[uint64]*request),
		agents:  make(map[string]*agentRef),
	}
	c.sub, err = nc.Subscribe(c.inbox+">", c.onMsg)
	if err != nil {
		return nil, fmt.Errorf("nodeipc: remote: subscribe: %w", err)
	}
	go c.monitor()
	return c, nil
}

// Do runs call on a worker of one of the pool's agents and waits for its
// answer, like the local pool's Do: the result is decoded into
// call.Result, progress events reach call.Progress in order (on the
// client's receiving goroutine: it must not block), a method's error is a
// *pool.CallError, and a worker that dies is a *pool.WorkerError.
//
// The call goes to an agent with a free slot; while every agent is busy it
// waits in the client (in Do order) until one has room or ctx is done.
// ctx's deadline travels with the call and bounds it on the worker; if ctx
// is done first, Do returns ctx.Err() at once and the call is cancelled on
// its worker.
//
// Delivery is at most once. An agent that is lost while it runs the call
// (see ClientOptions.LostAfter) fails it with a *pool.WorkerError
// whose Err is ErrAgentLost, unless the call is Idempotent: then it is
// sent again (ClientOptions.Retries), and may have run more than once.
// With no agent at all, Do fails at once with ErrNoAgents. Params and
// results larger than the NATS server's max_payload fail with an error
// wrapping nodeipc.ErrMessageTooLarge. After Close, Do returns an error
// wrapping net.ErrClosed.
func (c *Client) Do(ctx context.Context, call *pool.Call) error {
	if call == nil {
		return errors.New("nodeipc: remote: Do: nil Call")
	}
	if err := checkMethod(call.Method); err != nil {
		return err
	}
	params := call.Params
	if params == nil {
		params = []any{}
	}
	body, err := jsontext.Append(nil, params) // as JSON.stringify, like the local pool
	if err != nil {
		return fmt.Errorf("nodeipc: remote: %s: encode params: %w", call.Method, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("nodeipc: remote: %w", net.ErrClosed)
	}
	c.active.Add(1)
	defer c.active.Done()
	if err := ctx.Err(); err != nil {
		c.stats.Canceled++
		c.mu.Unlock()
		return err
	}
	c.nextSeq++
	cl := &request{seq: c.nextSeq, c: call, ctx: ctx, body: body, start: time.Now(), done: make(chan struct{})}
	var out []outMsg
	if len(c.waiting) > 0 {
		// Others wait for a slot already: queue behind them.
		c.waitLocked(cl, false)
	} else {
		out = append(out, c.sendLocked(cl, nil))
	}
	c.mu.Unlock()
	c.flush(out)

	defer func() {
		cl.evMu.Lock()
		cl.evClosed = true
		cl.evMu.Unlock()
	}()
	select {
	case <-cl.done:
	case <-ctx.Done():
		if c.abandon(cl) {
			return ctx.Err()
		}
		<-cl.done
	}
	if cl.err != nil {
		return cl.err
	}
	if call.Result != nil {
		if err := jsontext.Unmarshal(cl.result, call.Result); err != nil {
			return fmt.Errorf("nodeipc: remote: %s: decode result: %w", call.Method, err)
		}
	}
	return nil
}

// abandon withdraws cl after its context ended; it returns false if cl had
// been answered already.
func (c *Client) abandon(cl *request) bool {
	c.mu.Lock()
	if cl.state == stateFinished {
		c.mu.Unlock()
		return false
	}
	c.stats.Canceled++
	var out []outMsg
	switch cl.state {
	case stateWaiting:
		c.unwaitLocked(cl)
	case stateRunning:
		out = append(out, c.cancelMsg(cl.agent, cl.id))
		c.releaseLocked(cl)
	case stateSending:
		// Nobody has it yet, or the agent that has it has not said so:
		// keep the attempt until an agent accepts it, and cancel it there
		// (and now, if it went to a known agent).
		cl.abandoned = true
		if cl.agent != nil {
			out = append(out, c.cancelMsg(cl.agent, cl.id))
		}
	}
	if !cl.abandoned {
		cl.state = stateFinished
	}
	cl.err = cl.ctx.Err()
	close(cl.done)
	c.mu.Unlock()
	c.flush(out)
	return true
}

// sendLocked makes the next attempt of cl: to agent a directly, or to the
// queue group if a is nil.
func (c *Client) sendLocked(cl *request, a *agentRef) outMsg {
	c.nextID++
	cl.id = c.nextID
	c.pending[cl.id] = cl
	cl.state = stateSending
	cl.sentAt = time.Now()
	cl.agent = a
	subject := c.subj.call
	if a != nil {
		a.calls++
		subject = c.subj.agent(a.id, "call")
	}
	h := nats.Header{
		hVersion:   {protocolVersion},
		hMethod:    {cl.c.Method},
		hClient:    {c.inbox},
		hLostAfter: {millis(c.o.LostAfter)},
	}
	if dl, ok := cl.ctx.Deadline(); ok {
		h[hTimeout] = []string{millis(max(time.Until(dl), time.Millisecond))}
	}
	if cl.c.Idempotent {
		h[hIdem] = []string{"true"}
	}
	return outMsg{
		m:  &nats.Msg{Subject: subject, Reply: c.inbox + strconv.FormatUint(cl.id, 10), Header: h, Data: cl.body},
		cl: cl,
		id: cl.id,
	}
}

func (c *Client) cancelMsg(a *agentRef, id uint64) outMsg {
	return outMsg{m: &nats.Msg{
		Subject: c.subj.agent(a.id, "cancel"),
		Header:  nats.Header{hClient: {c.inbox}},
		Data:    []byte(c.inbox + strconv.FormatUint(id, 10)),
	}}
}

// flush publishes out. A call whose message cannot be published fails.
func (c *Client) flush(out []outMsg) {
	for _, o := range out {
		var err error
		if o.cl != nil {
			if n := int64(headerSize(o.m.Header) + len(o.m.Data)); n > c.nc.MaxPayload() {
				err = fmt.Errorf("%w: %s: the call is %d bytes, over the NATS server's max_payload of %d",
					nodeipc.ErrMessageTooLarge, o.cl.c.Method, n, c.nc.MaxPayload())
			}
		}
		if err == nil {
			err = c.nc.PublishMsg(o.m)
			if err != nil {
				err = fmt.Errorf("nodeipc: remote: %s: publish: %w", o.m.Subject, err)
			}
		}
		if err != nil && o.cl != nil {
			c.mu.Lock()
			if o.cl.id == o.id && o.cl.state == stateSending {
				c.finishLocked(o.cl, nil, err)
			}
			c.mu.Unlock()
		}
	}
}

// releaseLocked forgets cl's current attempt.
func (c *Client) releaseLocked(cl *request) {
	if c.pending[cl.id] == cl {
		delete(c.pending, cl.id)
	}
	if cl.agent != nil {
		cl.agent.calls--
		cl.agent = nil
	}
}

// finishLocked ends cl with a result or an error.
func (c *Client) finishLocked(cl *request, result json.RawMessage, err error) {
	c.releaseLocked(cl)
	if cl.state == stateWaiting {
		c.unwaitLocked(cl)
	}
	if cl.abandoned || cl.state == stateFinished {
		cl.state = stateFinished
		return
	}
	cl.state = stateFinished
	cl.result, cl.err = result, err
	if err != nil {
		c.stats.Failures++
	} else {
		c.stats.Calls++
	}
	d := time.Since(cl.start)
	if len(c.lat) < 1024 {
		c.lat = append(c.lat, d)
	} else {
		c.lat[c.latNext] = d
		c.latNext = (c.latNext + 1) % len(c.lat)
	}
	close(cl.done)
}

// failLocked ends cl with err, or sends it again if it is idempotent and
// has retries left.
func (c *Client) failLocked(cl *request, err error) {
	if cl.c.Idempotent && !cl.abandoned && cl.attempts < c.o.Retries {
		cl.attempts++
		c.stats.Retries++
		c.releaseLocked(cl)
		c.waitLocked(cl, true)
		return
	}
	c.finishLocked(cl, nil, err)
}

// waitLocked puts cl on the wait list. A wait list that was empty, or now,
// makes a probe due at once.
func (c *Client) waitLocked(cl *request, now bool) {
	c.releaseLocked(cl)
	cl.state = stateWaiting
	if len(c.waiting) == 0 {
		c.backoff = 0
		now = true
	}
	i, _ := slices.BinarySearchFunc(c.waiting, cl.seq, func(x *request, seq uint64) int { return cmp.Compare(x.seq, seq) })
	c.waiting = slices.Insert(c.waiting, i, cl)
	if now {
		c.scheduleProbeLocked(0)
	}
}

func (c *Client) unwaitLocked(cl *request) {
	if i := slices.Index(c.waiting, cl); i >= 0 {
		c.waiting = slices.Delete(c.waiting, i, i+1)
	}
}

// popWaitingLocked takes the first call off the wait list.
func (c *Client) popWaitingLocked() *request {
	if len(c.waiting) == 0 {
		return nil
	}
	cl := c.waiting[0]
	c.waiting[0] = nil
	c.waiting = c.waiting[1:]
	return cl
}

// probeLocked asks every agent for room, if calls wait, and schedules the
// next probe. Agents with free slots answer; busy ones note the client and
// tell it when a slot frees. Probes back off exponentially, from a
// millisecond to a Heartbeat, while none finds room.
func (c *Client) probeLocked(out *[]outMsg) {
	if len(c.waiting) == 0 {
		return
	}
	*out = append(*out, outMsg{m: &nats.Msg{
		Subject: c.subj.room,
		Reply:   c.inbox + "probe",
		Header:  nats.Header{hVersion: {protocolVersion}, hClient: {c.inbox}},
	}})
	c.backoff = min(max(2*c.backoff, time.Millisecond), c.o.Heartbeat)
	c.scheduleProbeLocked(c.backoff)
}

// onProbe receives an agent's answer to a probe: its free slots; or NATS's
// "no responders".
func (c *Client) onProbe(m *nats.Msg) {
	var out []outMsg
	c.mu.Lock()
	switch {
	case m.Header.Get(hStatus) == noResponders:
		if len(c.waiting) > 0 {
			c.noAgentsLocked(c.waiting[0])
		}
	case m.Header.Get(hReply) == replyFree:
		n, _ := strconv.Atoi(m.Header.Get(hFree))
		if id := m.Header.Get(hAgent); id != "" && n > 0 {
			if c.dispatchFreeLocked(c.agentLocked(id, m.Header.Get(hAgentName)), n, &out) > 0 {
				// There was room: look again soon.
				c.backoff = 0
				c.scheduleProbeLocked(time.Millisecond)
			}
		}
	}
	c.mu.Unlock()
	c.flush(out)
}

// scheduleProbeLocked makes the next probe due after d, if calls wait.
func (c *Client) scheduleProbeLocked(d time.Duration) {
	if len(c.waiting) == 0 {
		return
	}
	at := time.Now().Add(d)
	if c.probeAt.IsZero() || at.Before(c.probeAt) {
		c.probeAt = at
		c.wake()
	}
}

// dispatchFreeLocked sends waiting calls to agent a, which said it has n
// free slots, less the calls already on their way to it, and returns how
// many it sent.
func (c *Client) dispatchFreeLocked(a *agentRef, n int, out *[]outMsg) int {
	for _, cl := range c.pending {
		if cl.agent == a && cl.state == stateSending {
			n--
		}
	}
	return c.dispatchLocked(a, n, out)
}

// dispatchLocked sends up to n waiting calls to agent a and returns how
// many it sent.
func (c *Client) dispatchLocked(a *agentRef, n int, out *[]outMsg) int {
	sent := 0
	for ; sent < n; sent++ {
		cl := c.popWaitingLocked()
		if cl == nil {
			break
		}
		*out = append(*out, c.sendLocked(cl, a))
	}
	return sent
}

func (c *Client) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// agentLocked returns the record of agent id, making one if needed.
func (c *Client) agentLocked(id, name string) *agentRef {
	a := c.agents[id]
	if a == nil {
		if name == "" {
			name = id
		}
		a = &agentRef{id: id, name: name, heard: time.Now()}
		c.agents[id] = a
	}
	return a
}

// loseAgentLocked gives agent a up: its calls fail (or are sent again).
func (c *Client) loseAgentLocked(a *agentRef, reason string) {
	if c.agents[a.id] == a {
		delete(c.agents, a.id)
	}
	lost := false
	for _, cl := range c.pendingOf(a) {
		lost = true
		if cl.abandoned {
			c.releaseLocked(cl)
			cl.state = stateFinished
			continue
		}
		c.failLocked(cl, &pool.WorkerError{Worker: a.label(), Reason: reason, Err: ErrAgentLost})
	}
	if lost {
		c.stats.AgentsLost++
	}
}

// pendingOf returns the calls sent to or running on a, in Do order.
func (c *Client) pendingOf(a *agentRef) []*request {
	var cls []*request
	for _, cl := range c.pending {
		if cl.agent == a {
			cls = append(cls, cl)
		}
	}
	slices.SortFunc(cls, func(x, y *request) int { return cmp.Compare(x.seq, y.seq) })
	return cls
}

// onMsg receives every message sent to the client's inbox: replies to
// calls, answers to pings and free-slot notices. NATS delivers them one at
// a time, in the order each agent sent them.
func (c *Client) onMsg(m *nats.Msg) {
	tok := strings.TrimPrefix(m.Subject, c.inbox)
	switch {
	case tok == replyFree:
		c.onFree(m)
	case tok == "probe":
		c.onProbe(m)
	case strings.HasPrefix(tok, "ping."):
		c.onPong(tok[len("ping."):], m)
	default:
		id, err := strconv.ParseUint(tok, 10, 64)
		if err == nil {
			c.onReply(id, m)
		}
	}
}

func (c *Client) onReply(id uint64, m *nats.Msg) {
	var out []outMsg
	defer func() { c.flush(out) }()
	c.mu.Lock()
	cl := c.pending[id]
	if cl == nil {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	if m.Header.Get(hStatus) == noResponders {
		if cl.state == stateSending {
			if a := cl.agent; a != nil {
				// The agent it was sent to is gone; the call never ran.
				c.waitLocked(cl, true)
				if cl.abandoned {
					c.unwaitLocked(cl)
					cl.state = stateFinished
				}
				c.loseAgentLocked(a, "its connection to NATS ended")
			} else {
				c.noAgentsLocked(cl)
			}
		}
		c.mu.Unlock()
		return
	}
	kind := m.Header.Get(hReply)
	if cl.agent != nil {
		cl.agent.heard = now
	}
	switch kind {
	case replyAccepted:
		if cl.state != stateSending {
			break
		}
		a := c.agentLocked(m.Header.Get(hAgent), m.Header.Get(hAgentName))
		a.heard = now
		if cl.agent != a {
			if cl.agent != nil {
				cl.agent.calls--
			}
			a.calls++
			cl.agent = a
		}
		cl.state = stateRunning
		if cl.abandoned {
			out = append(out, c.cancelMsg(a, cl.id))
			c.releaseLocked(cl)
			cl.state = stateFinished
		}
	case replyBusy:
		if cl.state != stateSending {
			break
		}
		if cl.abandoned {
			c.releaseLocked(cl)
			cl.state = stateFinished
			break
		}
		c.waitLocked(cl, false)
	case replyEvent:
		if cl.state != stateRunning || cl.abandoned || cl.c.Progress == nil {
			break
		}
		c.mu.Unlock()
		var ev pool.Event
		if json.Unmarshal(m.Data, &ev) == nil {
			cl.evMu.Lock()
			if !cl.evClosed {
				cl.c.Progress(ev)
			}
			cl.evMu.Unlock()
		}
		return
	case replyResult, replyError:
		if cl.state != stateRunning && cl.state != stateSending {
			break
		}
		a := cl.agent
		if a == nil {
			a = c.agentLocked(m.Header.Get(hAgent), m.Header.Get(hAgentName))
		}
		if kind == replyResult {
			c.finishLocked(cl, m.Data, nil)
		} else if err := c.replyError(cl, a, m); errors.Is(err, ErrAgentLost) {
			c.failLocked(cl, err)
		} else {
			c.finishLocked(cl, nil, err)
		}
		// The call's end freed one slot: fill it. (The agent's count of
		// free slots may include slots that calls already sent to it will
		// take.)
		if n, err := strconv.Atoi(m.Header.Get(hFree)); err == nil && n > 0 && a.id != "" {
			c.dispatchLocked(a, 1, &out)
		}
	}
	c.mu.Unlock()
}

// noAgentsLocked fails cl, and every call waiting for a slot, with
// ErrNoAgents: NATS found no agent subscribed to the pool.
func (c *Client) noAgentsLocked(cl *request) {
	err := fmt.Errorf("%w %q (calling %s)", ErrNoAgents, c.name, cl.c.Method)
	c.finishLocked(cl, nil, err)
	for len(c.waiting) > 0 {
		c.finishLocked(c.waiting[0], nil, err)
	}
}

// replyError decodes an error reply from agent a.
func (c *Client) replyError(cl *request, a *agentRef, m *nats.Msg) error {
	method := cl.c.Method
	var wm wireMessage
	switch m.Header.Get(hError) {
	case errCall:
		ce := new(pool.CallError)
		if json.Unmarshal(m.Data, ce) != nil {
			ce = &pool.CallError{Name: "Error", Message: string(m.Data)}
		}
		return ce
	case errWorker:
		var w wireWorkerError
		json.Unmarshal(m.Data, &w)
		return &pool.WorkerError{Worker: a.label() + ": " + w.Worker, Reason: w.Reason, Stderr: w.Stderr}
	case errDeadline:
		json.Unmarshal(m.Data, &wm)
		return fmt.Errorf("nodeipc: remote: %s on %s: %s: %w", method, a.label(), wm.Message, context.DeadlineExceeded)
	case errTooLarge:
		json.Unmarshal(m.Data, &wm)
		return fmt.Errorf("%w: %s on %s: %s", nodeipc.ErrMessageTooLarge, method, a.label(), wm.Message)
	case errLost:
		json.Unmarshal(m.Data, &wm)
		return &pool.WorkerError{Worker: a.label(), Reason: wm.Message, Err: ErrAgentLost}
	case errRefused:
		json.Unmarshal(m.Data, &wm)
		return fmt.Errorf("%w: %s on %s: %s", ErrRefused, method, a.label(), wm.Message)
	}
	json.Unmarshal(m.Data, &wm)
	return fmt.Errorf("nodeipc: remote: %s on %s: %s", method, a.label(), wm.Message)
}

// onFree receives an agent's notice that it has free slots again, sent to
// the clients it turned away.
func (c *Client) onFree(m *nats.Msg) {
	n, err := strconv.Atoi(m.Header.Get(hFree))
	id := m.Header.Get(hAgent)
	if err != nil || n <= 0 || id == "" {
		return
	}
	var out []outMsg
	c.mu.Lock()
	if len(c.waiting) > 0 {
		c.dispatchFreeLocked(c.agentLocked(id, m.Header.Get(hAgentName)), n, &out)
	}
	c.mu.Unlock()
	c.flush(out)
}

// onPong receives the answer to a ping of agent id.
func (c *Client) onPong(id string, m *nats.Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[id]
	if a == nil {
		return
	}
	if m.Header.Get(hStatus) == noResponders {
		c.loseAgentLocked(a, "its connection to NATS ended")
		return
	}
	a.heard = time.Now()
}

// monitor owns the client's timers: the heartbeat (pings, lost agents and
// unanswered calls) and the wait list's probe.
func (c *Client) monitor() {
	defer close(c.done)
	t := time.NewTimer(c.o.Heartbeat)
	defer t.Stop()
	nextBeat := time.Now().Add(c.o.Heartbeat)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-t.C:
		}
		now := time.Now()
		var out []outMsg
		c.mu.Lock()
		if !now.Before(nextBeat) {
			c.heartbeatLocked(now, &out)
			nextBeat = now.Add(c.o.Heartbeat)
		}
		if !c.probeAt.IsZero() && !now.Before(c.probeAt) {
			c.probeAt = time.Time{}
			c.probeLocked(&out)
		}
		wake := nextBeat
		if !c.probeAt.IsZero() && c.probeAt.Before(wake) {
			wake = c.probeAt
		}
		c.mu.Unlock()
		c.flush(out)
		t.Reset(time.Until(wake))
	}
}

// heartbeatLocked pings the agents running calls, gives up those silent
// for LostAfter, and fails the calls nobody acknowledged in time.
func (c *Client) heartbeatLocked(now time.Time, out *[]outMsg) {
	if n, err := c.sub.Dropped(); err == nil && n >= 0 && uint64(n) > c.dropped {
		// The client fell behind and NATS dropped replies: any running
		// call may have lost its answer.
		c.dropped = uint64(n)
		err := fmt.Errorf("nodeipc: remote: the client fell behind and NATS dropped %d messages: %w", n, nats.ErrSlowConsumer)
		for _, cl := range c.pending {
			if cl.state == stateRunning {
				c.finishLocked(cl, nil, err)
			}
		}
	}
	for _, a := range c.agents {
		switch {
		case a.calls <= 0:
			delete(c.agents, a.id)
		case now.Sub(a.heard) > c.o.LostAfter:
			c.loseAgentLocked(a, fmt.Sprintf("no answer for %v", c.o.LostAfter))
		default:
			*out = append(*out, outMsg{m: &nats.Msg{
				Subject: c.subj.agent(a.id, "ping"),
				Reply:   c.inbox + "ping." + a.id,
				Header:  nats.Header{hClient: {c.inbox}, hLostAfter: {millis(c.o.LostAfter)}},
			}})
		}
	}
	for _, cl := range c.pending {
		if cl.state != stateSending || now.Sub(cl.sentAt) <= c.o.LostAfter {
			continue
		}
		if cl.abandoned {
			c.releaseLocked(cl)
			cl.state = stateFinished
			continue
		}
		a := cl.agent
		if a == nil {
			a = &agentRef{name: "(unknown: none acknowledged the call)"}
		}
		c.failLocked(cl, &pool.WorkerError{
			Worker: a.label(),
			Reason: fmt.Sprintf("no agent acknowledged the call within %v", c.o.LostAfter),
			Err:    ErrAgentLost,
		})
	}
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	for _, cl := range c.pending {
		if !cl.abandoned {
			s.InFlight++
		}
	}
	s.Waiting = len(c.waiting)
	for _, a := range c.agents {
		if a.calls > 0 {
			s.Agents++
		}
	}
	lat := slices.Clone(c.lat)
	c.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
		s.LatencyP50, s.LatencyP90, s.LatencyP99 = q(0.50), q(0.90), q(0.99)
	}
	return s
}

// Close stops the client: new calls are refused, calls already submitted
// run to completion (bound them with their contexts), then the client's
// subscription ends and its goroutine is joined. It does not close the
// NATS connection. Close is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.active.Wait()
		close(c.stop)
		<-c.done
		if err := c.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			c.closeErr = fmt.Errorf("nodeipc: remote: unsubscribe: %w", err)
		}
	})
	return c.closeErr
}
