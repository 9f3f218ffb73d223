package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/v8"
)

// Defaults used when an Options field is zero.
const (
	DefaultQueueSize      = 1024
	DefaultStartTimeout   = 30 * time.Second
	DefaultCleanupTimeout = time.Second
	DefaultStopTimeout    = time.Second
	DefaultKillTimeout    = time.Second
	DefaultRestartDelay   = 100 * time.Millisecond
	DefaultStderrLines    = 20
)

// Options configure a Pool. Command is required.
type Options struct {
	// Size is the number of workers. Zero means runtime.NumCPU().
	Size int

	// Command returns a new, unstarted command for the worker in slot
	// (0 to Size-1); it is called again for every replacement. Slots may run
	// different programs, so one pool can hold Node scripts
	// (nodeipc.NodeCommand(...)) and Go binaries side by side. A worker speaks the
	// envelope of PROTOCOL.md §10: a Go program using Serve, a Node script
	// using the npm package @nodeipc/node, or one using workerpool.worker().
	//
	// The pool sets the command's Stdout and Stderr (see Output), puts it in
	// its own process group, asks Linux to kill it if this process dies
	// (SysProcAttr.Pdeathsig), and sets WaitDelay to a second if it is zero;
	// other fields (Dir, Env, ...) are the caller's.
	Command func(slot int) *exec.Cmd

	// Channel are the options of each worker's channel (serialization,
	// message size). Nil means the defaults.
	Channel *nodeipc.Options

	// Concurrency is how many calls a worker runs at once. Zero means 1,
	// which is what workerpool.worker() scripts expect.
	Concurrency int

	// QueueSize bounds the calls waiting for a free worker; beyond it Do
	// blocks until there is room or its context is done. Zero means
	// DefaultQueueSize.
	QueueSize int

	// MaxCalls recycles a worker after it has been given this many calls:
	// a fresh worker takes its slot at once, and the old one is stopped
	// when its last call ends. Zero means never.
	MaxCalls int
	// MaxLifetime recycles a worker this long after it started. Zero means
	// never.
	MaxLifetime time.Duration

	// Retries is how many times a call marked Idempotent is sent to another
	// worker when the one running it dies. Zero means 1; negative means
	// never.
	Retries int

	// StartTimeout is how long a new worker has to send "ready" before it
	// is killed and replaced. Zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// CleanupTimeout is how long a worker has to confirm that it cleaned up
	// a cancelled call before the pool considers it hung, kills it and
	// replaces it. Zero means DefaultCleanupTimeout.
	CleanupTimeout time.Duration
	// StopTimeout and KillTimeout are the steps of the shutdown ladder: the
	// terminate message, then SIGTERM to the worker's process group after
	// StopTimeout, then SIGKILL after KillTimeout more. Zero means
	// DefaultStopTimeout and DefaultKillTimeout.
	StopTimeout time.Duration
	KillTimeout time.Duration
	// RestartDelay is the delay before a crashed worker is replaced; it
	// doubles with each consecutive failure of the slot (up to 64 times)
	// and resets when the slot's worker completes a call. Zero means
	// DefaultRestartDelay.
	RestartDelay time.Duration

	// Output receives the workers' stdout and stderr, line by line, each
	// line prefixed with "[worker N pid P] " (stdout) or
	// "[worker N pid P stderr] ". Nil discards them. Writes are serialized.
	Output io.Writer
	// StderrLines is how many of a worker's last stderr lines a
	// WorkerError keeps. Zero means DefaultStderrLines.
	StderrLines int
}

// Call is one call for Pool.Do.
type Call struct {
	// Method is the worker method to call.
	Method string
	// Params are the positional parameters, each encoded as JSON.
	Params []any
	// Result, if not nil, is a pointer the result is decoded into with
	// encoding/json's rules.
	Result any
	// Progress, if not nil, receives the call's progress events in order.
	// It runs on the worker's receiving goroutine and must not block; it
	// is never called after Do has returned.
	Progress func(Event)
	// Idempotent allows the pool to run the call again on another worker
	// when the worker running it dies (see Options.Retries).
	Idempotent bool
}

// WorkerError is the error of a call whose worker died or was killed
// before answering: which worker, why, and what it last wrote on stderr.
type WorkerError struct {
	// Worker names the worker: "worker 2 (pid 12345)".
	Worker string
	// Reason says how it ended: "exit status 1", "signal: killed",
	// "killed by the pool: did not send ready within 30s", ...
	Reason string
	// Stderr holds the worker's last lines on stderr.
	Stderr []string
	// Err is the cause: the *exec.ExitError from Wait, if any.
	Err error
}

var _ error = (*WorkerError)(nil)

// Error returns "pool: <worker> failed: <reason>; stderr: <lines>".
func (e *WorkerError) Error() string {
	s := "pool: " + e.Worker + " failed: " + e.Reason
	if len(e.Stderr) > 0 {
		s += "; stderr: " + strings.Join(e.Stderr, " | ")
	}
	return s
}

// Unwrap returns Err.
func (e *WorkerError) Unwrap() error { return e.Err }

// Stats is a snapshot of a pool's counters.
type Stats struct {
	Workers  int // worker processes alive (including ones being stopped)
	Ready    int // workers ready for calls
	Queued   int // calls waiting for a worker
	InFlight int // calls sent to a worker and not answered

	Calls    int64 // calls answered with a result
	Failures int64 // calls answered with an error, or whose worker died
	Canceled int64 // calls whose context ended first
	Restarts int64 // workers replaced after crashing, hanging or failing to start
	Recycled int64 // workers replaced after MaxCalls or MaxLifetime

	// Latency percentiles of the last 1024 answered calls, from Do to the
	// answer (queueing included).
	LatencyP50, LatencyP90, LatencyP99 time.Duration
}

// Pool runs calls on a set of worker processes: each call goes to the
// least-loaded ready worker; crashed or hung workers are replaced;
// workers are recycled and shut down with a ladder of signals.
//
// Do is safe for concurrent use. Close must be called to stop the workers
// and join the pool's goroutines.
type Pool struct {
	o        Options
	queueSem chan struct{}
	stopc    chan struct{}
	outMu    sync.Mutex

	calls sync.WaitGroup // Do calls in progress
	bg    sync.WaitGroup // worker goroutines, stop ladders, restarts
	tasks chan func()    // to idle sender goroutines (see spawn)

	closeOnce sync.Once
	nextID    atomic.Int64
	sendLimit int // a worker's channel's SendQueueSize

	mu       sync.Mutex
	closed   bool // no new calls
	stopping bool // no new workers
	queue    []*pending
	outbox   []dispatch // requests assigned to workers, to send after unlocking
	slots    []*worker  // the current worker of each slot, nil while restarting
	fails    []int      // consecutive failures per slot
	live     map[*worker]struct{}
	stats    Stats
	lat      []time.Duration
	latNext  int
}

type pending struct {
	id       int64
	call     *Call
	frame    []byte // the request as JSON text (advanced: as V8 data)
	req      any    // advanced: the request, sent as it is
	ctx      context.Context
	start    time.Time
	done     chan struct{}
	sent     chan struct{} // closed once the request was handed to the channel
	result   value
	err      error
	w        *worker
	finished bool
	holdsSem bool
	avoid    int
	attempts int

	evMu     sync.Mutex // held while Progress runs
	evClosed bool       // Do has returned: no more Progress calls
}

type worker struct {
	slot       int
	name       string
	cmd        *exec.Cmd
	ch         *nodeipc.Channel
	pid        atomic.Int64
	started    time.Time
	exited     chan struct{} // closed when Wait has returned
	waitErr    error
	stderr     *lineWriter
	stdout     *lineWriter
	output     *workerOutput // nil where os/exec copies the output
	timers     []*time.Timer
	ready      bool
	retiring   bool
	stopping   bool
	gone       bool
	load       int // in flight + cleaning
	served     int // calls answered
	dispatched int // calls sent
	inflight   map[int64]*pending
	cleaning   map[int64]cleaning
	// owed bounds the bytes in its channel's send queue: those of the
	// requests and cleanup requests sent to it and not yet answered or
	// confirmed (the worker has read everything before an answer).
	owed   int
	reason string // why the pool killed it
}

// cleaning is a cancelled call whose cleanup the worker has to confirm.
type cleaning struct {
	timer *time.Timer // kills the worker if it does not
	owed  int         // the bytes of the call's request and cleanup request
}

// dispatch is a request assigned to a worker, to send once p.mu is
// released.
type dispatch struct {
	pc   *pending
	w    *worker
	sent chan struct{}
}

// New starts the workers of a pool. It returns an error, and starts
// nothing, if a worker cannot be started. Calls queue until workers are
// ready.
func New(opts Options) (*Pool, error) {
	o := opts
	if o.Command == nil {
		return nil, errors.New("pool: New: Command is nil")
	}
	if o.Size <= 0 {
		o.Size = runtime.NumCPU()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Retries == 0 {
		o.Retries = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, DefaultStartTimeout)
	def(&o.CleanupTimeout, DefaultCleanupTimeout)
	def(&o.StopTimeout, DefaultStopTimeout)
	def(&o.KillTimeout, DefaultKillTimeout)
	def(&o.RestartDelay, DefaultRestartDelay)
	if o.StderrLines <= 0 {
		o.StderrLines = DefaultStderrLines
	}
	p := &Pool{
		o:         o,
		sendLimit: nodeipc.DefaultSendQueueSize,
		queueSem:  make(chan struct{}, o.QueueSize),
		stopc:     make(chan struct{}),
		tasks:     make(chan func()),
		slots:     make([]*worker, o.Size),
		fails:     make([]int, o.Size),
		live:      make(map[*worker]struct{}),
	}
	if o.Channel != nil && o.Channel.SendQueueSize > 0 {
		p.sendLimit = o.Channel.SendQueueSize
	}
	// The workers are started from a new goroutine: Linux delivers
	// Pdeathsig when the thread that started a child exits, and the
	// caller's goroutine may be locked to a thread that will.
	errc := make(chan error, 1)
	go func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for slot := range o.Size {
			w, err := p.startLocked(slot)
			if err != nil {
				errc <- err
				return
			}
			p.slots[slot] = w
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		p.mu.Lock()
		p.closed, p.stopping = true, true
		close(p.stopc)
		for w := range p.live {
			p.stopLocked(w)
		}
		p.mu.Unlock()
		p.bg.Wait()
		return nil, err
	}
	return p, nil
}

// startLocked starts a worker for slot. p.mu is held.
func (p *Pool) startLocked(slot int) (*worker, error) {
	cmd := p.o.Command(slot)
	if cmd == nil {
		return nil, fmt.Errorf("pool: Command(%d) returned nil", slot)
	}
	w := &worker{
		slot:     slot,
		cmd:      cmd,
		exited:   make(chan struct{}),
		inflight: make(map[int64]*pending),
		cleaning: make(map[int64]cleaning),
		started:  time.Now(),
	}
	w.stdout = &lineWriter{p: p, w: w}
	w.stderr = &lineWriter{p: p, w: w, stream: " stderr", keep: p.o.StderrLines}
	setProcAttr(cmd)
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = time.Second
	}
	out, err := attachOutput(cmd, w.stdout, w.stderr)
	if err != nil {
		return nil, fmt.Errorf("pool: start worker %d: %w", slot, err)
	}
	ch, err := nodeipc.Start(cmd, p.o.Channel)
	w.output = out.started(err == nil)
	if err != nil {
		return nil, fmt.Errorf("pool: start worker %d: %w", slot, err)
	}
	w.ch = ch
	w.pid.Store(int64(cmd.Process.Pid))
	w.name = fmt.Sprintf("worker %d (pid %d)", slot, cmd.Process.Pid)
	p.live[w] = struct{}{}
	w.timers = append(w.timers, time.AfterFunc(p.o.StartTimeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !w.ready && !w.gone {
			p.killLocked(w, fmt.Sprintf("did not send ready within %v", p.o.StartTimeout))
		}
	}))
	if p.o.MaxLifetime > 0 {
		w.timers = append(w.timers, time.AfterFunc(p.o.MaxLifetime, func() {
			p.mu.Lock()
			p.retireLocked(w)
			p.idleLocked(w)
			p.flushLocked()
			p.unlock()
		}))
	}
	p.bg.Add(1)
	go p.run(w)
	return w, nil
}

// run owns a worker from start to exit.
func (p *Pool) run(w *worker) {
	defer p.bg.Done()
	go func() {
		w.waitErr = w.cmd.Wait()
		close(w.exited)
	}()
	readc := make(chan struct{})
	go func() {
		defer close(readc)
		for {
			m, err := w.ch.Recv(context.Background())
			if err != nil {
				var pe *nodeipc.ProtocolError
				if errors.As(err, &pe) {
					continue
				}
				return
			}
			p.handle(w, m)
		}
	}()
	select {
	case <-readc:
		// The channel ended: the worker is exiting, or must be made to.
		p.ladder(w, false)
		<-w.exited
	case <-w.exited:
		// Let the reader take what the worker sent before it died.
		t := time.NewTimer(time.Second)
		select {
		case <-readc:
		case <-t.C:
		}
		t.Stop()
	}
	w.ch.Close()
	<-readc
	// Leftovers of its process group (grandchildren) go with it.
	killLeftovers(w)
	w.output.wait(w.cmd.WaitDelay)
	w.stdout.flush()
	w.stderr.flush()
	p.exited(w)
}

// handle processes one message from a worker.
func (p *Pool) handle(w *worker, m *nodeipc.Message) {
	r, ok := parseReply(m)
	if !ok {
		return
	}
	if r.ready {
		p.mu.Lock()
		w.ready = true
		p.flushLocked()
		p.unlock()
		return
	}
	id := r.id
	if r.cleanup {
		p.mu.Lock()
		if cl, ok := w.cleaning[id]; ok {
			cl.timer.Stop()
			delete(w.cleaning, id)
			w.load--
			w.owed -= cl.owed
			if !r.err.null() {
				// workerpool's rule: a failed cleanup retires the worker.
				p.retireLocked(w)
			}
			p.idleLocked(w)
			p.flushLocked()
		}
		p.unlock()
		return
	}
	if r.event {
		p.mu.Lock()
		pc := w.inflight[id]
		p.mu.Unlock()
		if pc != nil && pc.call.Progress != nil {
			pc.evMu.Lock()
			if !pc.evClosed {
				pc.call.Progress(Event{payload: r.payload})
			}
			pc.evMu.Unlock()
		}
		return
	}
	var ce *CallError
	if !r.err.null() {
		ce = r.err.callError()
	}
	p.mu.Lock()
	pc := w.inflight[id]
	if pc == nil {
		p.mu.Unlock()
		return // cancelled: the cleanup confirmation settles it
	}
	delete(w.inflight, id)
	w.load--
	w.owed -= len(pc.frame) + 1
	w.served++
	p.fails[w.slot] = 0
	if ce != nil {
		p.finishLocked(pc, value{}, ce)
	} else {
		p.finishLocked(pc, r.result, nil)
	}
	p.idleLocked(w)
	p.flushLocked()
	p.unlock()
}

func (p *Pool) finishLocked(pc *pending, result value, err error) {
	if pc.finished {
		return
	}
	pc.finished = true
	pc.result, pc.err = result, err
	if err != nil {
		p.stats.Failures++
	} else {
		p.stats.Calls++
	}
	d := time.Since(pc.start)
	if len(p.lat) < 1024 {
		p.lat = append(p.lat, d)
	} else {
		p.lat[p.latNext] = d
		p.latNext = (p.latNext + 1) % len(p.lat)
	}
	close(pc.done)
}

// retireLocked takes w out of service: a fresh worker takes its slot now,
// and w is stopped once it is idle.
func (p *Pool) retireLocked(w *worker) {
	if w.retiring || w.gone {
		return
	}
	w.retiring = true
	if p.slots[w.slot] == w {
		p.slots[w.slot] = nil
		if !p.stopping {
			p.stats.Recycled++
			p.restartLocked(w.slot, 0)
		}
	}
}

// idleLocked stops a retiring worker that has nothing left to do.
func (p *Pool) idleLocked(w *worker) {
	if w.retiring && w.load == 0 {
		p.stopLocked(w)
	}
}

// restartLocked starts a worker for slot after delay, unless the pool stops
// first.
func (p *Pool) restartLocked(slot int, delay time.Duration) {
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-p.stopc:
				t.Stop()
				return
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.stopping || p.slots[slot] != nil {
			return
		}
		w, err := p.startLocked(slot)
		if err != nil {
			p.stats.Restarts++
			p.fails[slot]++
			p.restartLocked(slot, p.backoff(slot))
			return
		}
		p.slots[slot] = w
	}()
}

func (p *Pool) backoff(slot int) time.Duration {
	n := min(p.fails[slot], 7)
	if n == 0 {
		return 0
	}
	return p.o.RestartDelay << (n - 1)
}

// killLocked kills w's process group at once; reason is what its calls
// report.
func (p *Pool) killLocked(w *worker, reason string) {
	if w.gone {
		return
	}
	if w.reason == "" {
		w.reason = "killed by the pool: " + reason
	}
	signalGroup(w, true)
}

// stopLocked starts the shutdown ladder of w.
func (p *Pool) stopLocked(w *worker) {
	if w.stopping || w.gone {
		return
	}
	w.stopping = true
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		p.ladder(w, true)
	}()
}

// ladder stops w: the terminate message (if message), then SIGTERM to its
// process group after StopTimeout, then SIGKILL after KillTimeout.
func (p *Pool) ladder(w *worker, message bool) {
	if message {
		ctx, cancel := context.WithTimeout(context.Background(), p.o.StopTimeout)
		sendValue(ctx, w.ch, wpTerminate)
		cancel()
	}
	steps := []struct {
		wait time.Duration
		kill bool
	}{{p.o.StopTimeout, false}, {p.o.KillTimeout, true}}
	for _, s := range steps {
		t := time.NewTimer(s.wait)
		select {
		case <-w.exited:
			t.Stop()
			return
		case <-t.C:
		}
		signalGroup(w, s.kill)
	}
}

// exited settles everything w had when its process ended.
func (p *Pool) exited(w *worker) {
	p.mu.Lock()
	w.gone = true
	delete(p.live, w)
	for _, t := range w.timers {
		t.Stop()
	}
	for _, cl := range w.cleaning {
		cl.timer.Stop()
	}
	crashed := !w.stopping
	if len(w.inflight) > 0 {
		werr := &WorkerError{Worker: w.name, Stderr: w.stderr.lines(), Err: w.waitErr}
		switch {
		case w.reason != "":
			werr.Reason = w.reason
		case w.waitErr != nil:
			var ee *exec.ExitError
			if errors.As(w.waitErr, &ee) {
				werr.Reason = ee.ProcessState.String()
			} else {
				werr.Reason = w.waitErr.Error()
			}
		default:
			werr.Reason = "exited with status 0 before answering"
		}
		ids := make([]int64, 0, len(w.inflight))
		for id := range w.inflight {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var retry []*pending
		for _, id := range ids {
			pc := w.inflight[id]
			if pc.call.Idempotent && pc.attempts < p.o.Retries && !p.stopping {
				pc.attempts++
				pc.w = nil
				pc.avoid = w.slot
				pc.sent = make(chan struct{})
				retry = append(retry, pc)
				continue
			}
			p.finishLocked(pc, value{}, werr)
		}
		p.queue = append(retry, p.queue...)
		crashed = true
	}
	w.inflight = nil
	w.owed = 0
	if p.slots[w.slot] == w {
		p.slots[w.slot] = nil
		if !p.stopping {
			p.stats.Restarts++
			if crashed || !w.ready {
				p.fails[w.slot]++
			}
			p.restartLocked(w.slot, p.backoff(w.slot))
		}
	}
	p.flushLocked()
	p.unlock()
}

// pickLocked returns the least-loaded worker that can take a call, or nil.
func (p *Pool) pickLocked(avoid int) *worker {
	var best *worker
	others := false
	for _, w := range p.slots {
		if w != nil && w.ready && !w.retiring && w.slot != avoid {
			others = true
		}
	}
	for _, w := range p.slots {
		if w == nil || !w.ready || w.retiring || w.stopping || w.load >= p.o.Concurrency {
			continue
		}
		if w.slot == avoid && others {
			continue
		}
		if best == nil || w.load < best.load || (w.load == best.load && w.served < best.served) {
			best = w
		}
	}
	return best
}

// flushLocked hands queued calls to free workers. The requests are sent by
// unlock, after p.mu is released: on the goroutine that unlocks when
// sending cannot block (the worker's send queue has room for it, see
// worker.owed), otherwise on goroutines of their own, so that a slow
// worker's full send queue never holds up p.mu or the goroutine that
// dispatched.
func (p *Pool) flushLocked() {
	for len(p.queue) > 0 {
		pc := p.queue[0]
		w := p.pickLocked(pc.avoid)
		if w == nil {
			return
		}
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if pc.holdsSem {
			pc.holdsSem = false
			<-p.queueSem
		}
		pc.w = w
		w.inflight[pc.id] = pc
		w.load++
		w.dispatched++
		if p.o.MaxCalls > 0 && w.dispatched >= p.o.MaxCalls {
			p.retireLocked(w) // its last call: a fresh worker takes the slot
		}
		size := len(pc.frame) + 1
		d := dispatch{pc, w, pc.sent}
		if w.owed+size <= p.sendLimit && size <= maxInlineRequest && w.ch.Serialization() == nodeipc.JSON {
			p.outbox = append(p.outbox, d)
		} else {
			p.spawn(func() { p.send(d) })
		}
		w.owed += size
	}
}

// maxInlineRequest is the largest request sent by the goroutine that
// dispatched it; Send validates the text, which takes long enough for
// larger ones to hold up that goroutine (a worker's receiving goroutine).
const maxInlineRequest = 64 << 10

// unlock releases p.mu and sends the requests flushLocked assigned.
func (p *Pool) unlock() {
	out := p.outbox
	p.outbox = nil
	p.mu.Unlock()
	for _, d := range out {
		p.send(d)
	}
}

// send sends the request of d.pc to d.w.
func (p *Pool) send(d dispatch) {
	defer close(d.sent)
	pc, w := d.pc, d.w
	var err error
	if w.ch.Serialization() == nodeipc.JSON {
		err = w.ch.Send(pc.ctx, json.RawMessage(pc.frame))
	} else {
		err = w.ch.Send(pc.ctx, pc.req) // the values as they are (values.go)
	}
	if err == nil || pc.ctx.Err() != nil || !errors.Is(err, nodeipc.ErrInvalidMessage) {
		return // if the worker is gone, exited settles the call
	}
	p.mu.Lock()
	if w.inflight[pc.id] == pc {
		delete(w.inflight, pc.id)
		w.load--
		w.owed -= len(pc.frame) + 1
		p.finishLocked(pc, value{}, err)
		p.idleLocked(w)
		p.flushLocked()
	}
	p.unlock()
}

// Do runs c on a worker and waits for its answer. It blocks while the
// queue is full (Options.QueueSize) until there is room or ctx is done.
//
// If ctx is done first, Do returns ctx.Err() at once; a call already
// running is cancelled on its worker (workerpool's cleanup message), whose
// slot stays busy until the worker confirms; a worker that does not confirm
// within CleanupTimeout is killed and replaced. A call the worker answers
// with an error returns a *CallError; a call whose worker dies returns a
// *WorkerError (unless c is Idempotent and is retried). Parameters that
// cannot be encoded as JSON fail the call at once with an error wrapping
// nodeipc.ErrInvalidMessage. After Close, Do returns an error wrapping
// net.ErrClosed.
func (p *Pool) Do(ctx context.Context, c *Call) error {
	if c == nil {
		return errors.New("pool: Do: nil Call")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("pool: %w", net.ErrClosed)
	}
	p.calls.Add(1)
	p.mu.Unlock()
	defer p.calls.Done()

	start := time.Now()
	pc := &pending{
		id:       p.nextID.Add(1),
		call:     c,
		ctx:      ctx,
		start:    start,
		done:     make(chan struct{}),
		sent:     make(chan struct{}),
		holdsSem: true,
		avoid:    -1,
	}
	req := struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params []any  `json:"params"`
	}{pc.id, c.Method, c.Params}
	if req.Params == nil {
		req.Params = []any{}
	}
	var frame []byte
	var err error
	if p.o.Channel != nil && p.o.Channel.Serialization == nodeipc.Advanced {
		// V8 carries the values as they are (see values.go); the frame
		// is for the accounting, and checks the request now.
		if req.Params, err = jsValues(req.Params); err == nil {
			frame, err = v8.Append(nil, req)
		}
		pc.req = req
	} else {
		frame, err = jsontext.Append(nil, req)
	}
	if err != nil {
		p.mu.Lock()
		p.stats.Failures++
		p.mu.Unlock()
		return fmt.Errorf("pool: %s: %w: %v", c.Method, nodeipc.ErrInvalidMessage, err)
	}
	pc.frame = frame
	select {
	case p.queueSem <- struct{}{}:
	case <-ctx.Done():
		p.mu.Lock()
		p.stats.Canceled++
		p.mu.Unlock()
		return ctx.Err()
	}
	p.mu.Lock()
	p.queue = append(p.queue, pc)
	p.flushLocked()
	p.unlock()

	defer func() {
		pc.evMu.Lock()
		pc.evClosed = true
		pc.evMu.Unlock()
	}()
	select {
	case <-pc.done:
	case <-ctx.Done():
		if p.cancel(pc) {
			return ctx.Err()
		}
		<-pc.done
	}
	if pc.err != nil {
		return pc.err
	}
	if c.Result != nil {
		if err := pc.result.decode(c.Result); err != nil {
			return fmt.Errorf("pool: %s: decode result: %w", c.Method, err)
		}
	}
	return nil
}

// cleanupSize bounds the size of a cleanup request on the wire.
const cleanupSize = 64

// cancel withdraws pc after its context ended. It returns false if pc had
// already been answered.
func (p *Pool) cancel(pc *pending) bool {
	p.mu.Lock()
	if pc.finished {
		p.mu.Unlock()
		return false
	}
	pc.finished = true
	p.stats.Canceled++
	w := pc.w
	if w == nil {
		if i := slices.Index(p.queue, pc); i >= 0 {
			p.queue = slices.Delete(p.queue, i, i+1)
		}
		if pc.holdsSem {
			pc.holdsSem = false
			<-p.queueSem
		}
		p.mu.Unlock()
		return true
	}
	delete(w.inflight, pc.id)
	if w.gone {
		w.load--
		p.mu.Unlock()
		return true
	}
	id := pc.id
	sent := pc.sent
	cl := cleaning{owed: len(pc.frame) + 1 + cleanupSize}
	w.owed += cleanupSize
	cl.timer = time.AfterFunc(p.o.CleanupTimeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := w.cleaning[id]; ok {
			p.killLocked(w, fmt.Sprintf("did not confirm the cleanup of cancelled call %d (%s) within %v", id, pc.call.Method, p.o.CleanupTimeout))
		}
	})
	w.cleaning[id] = cl
	p.mu.Unlock()
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		<-sent
		ctx, cancel := context.WithTimeout(context.Background(), p.o.CleanupTimeout)
		defer cancel()
		sendValue(ctx, w.ch, struct {
			ID     int64  `json:"id"`
			Method string `json:"method"`
		}{id, wpCleanup})
	}()
	return true
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	s := p.stats
	s.Workers = len(p.live)
	for _, w := range p.slots {
		if w != nil && w.ready && !w.retiring {
			s.Ready++
		}
	}
	s.Queued = len(p.queue)
	for w := range p.live {
		s.InFlight += len(w.inflight)
	}
	lat := slices.Clone(p.lat)
	p.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
		s.LatencyP50, s.LatencyP90, s.LatencyP99 = q(0.50), q(0.90), q(0.99)
	}
	return s
}

// Close stops the pool: new calls are refused, calls already submitted run
// to completion (bound them with their contexts: a call waiting for a worker
// that never becomes ready waits as long as its context allows), then every worker is
// stopped with the ladder (terminate message, SIGTERM, SIGKILL) and Close
// returns once all have exited and the pool's goroutines are done. Close
// is idempotent.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.calls.Wait()
		p.mu.Lock()
		p.stopping = true
		close(p.stopc)
		for w := range p.live {
			p.stopLocked(w)
		}
		p.mu.Unlock()
		p.bg.Wait()
	})
	return nil
}

// spawn runs f on an idle sender goroutine, or on a new one that lives
// until the pool stops (see runReusing).
func (p *Pool) spawn(f func()) { runReusing(p.tasks, &p.bg, p.stopc, f) }

// lineWriter forwards a worker's output line by line with a prefix, and
// keeps the last lines of stderr.
type lineWriter struct {
	p      *Pool
	w      *worker
	stream string
	keep   int

	mu   sync.Mutex
	buf  []byte
	tail []string
}

func (lw *lineWriter) Write(b []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, b...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			if len(lw.buf) > 64<<10 {
				lw.emit(lw.buf)
				lw.buf = lw.buf[:0]
			}
			break
		}
		lw.emit(lw.buf[:i])
		lw.buf = lw.buf[i+1:]
	}
	return len(b), nil
}

func (lw *lineWriter) emit(line []byte) {
	if lw.keep > 0 {
		lw.tail = append(lw.tail, string(line))
		if len(lw.tail) > lw.keep {
			lw.tail = lw.tail[len(lw.tail)-lw.keep:]
		}
	}
	out := lw.p.o.Output
	if out == nil {
		return
	}
	prefix := fmt.Sprintf("[worker %d pid %d%s] ", lw.w.slot, lw.w.pid.Load(), lw.stream)
	lw.p.outMu.Lock()
	out.Write(append(append([]byte(prefix), line...), '\n'))
	lw.p.outMu.Unlock()
}

func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) > 0 {
		lw.emit(lw.buf)
		lw.buf = nil
	}
}

func (lw *lineWriter) lines() []string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return slices.Clone(lw.tail)
}
