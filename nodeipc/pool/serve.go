package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// Handler serves one method of a worker. ctx is cancelled when the caller
// cancels the call (or its deadline passes), when the parent tells the
// worker to stop, and when the channel ends; a Handler should return soon
// after. The result is sent to the caller in the channel's serialization
// (nil is null; a json.RawMessage is JSON text in either); an error is
// sent as a *CallError (see CallError).
type Handler func(ctx context.Context, req *Request) (any, error)

// Request is one call received by Serve.
type Request struct {
	// Method is the name the caller used.
	Method string

	params []value
	call   *serveCall
}

// NumParams returns how many parameters the caller passed.
func (r *Request) NumParams() int { return len(r.params) }

// Params decodes the call's positional parameters into v: the first into
// v[0], and so on. An *any gets the JavaScript value model of package
// jsvalue (objects keep their key order; with advanced serialization,
// Maps, BigInts, Dates, typed arrays and cycles come as they were sent);
// other types follow encoding/json's rules on a json channel and package
// v8's on an advanced one. A nil v[i] skips that parameter; parameters the
// caller did not pass leave their v[i] untouched.
func (r *Request) Params(v ...any) error {
	for i, p := range v {
		if i >= len(r.params) {
			break
		}
		if p == nil {
			continue
		}
		if err := r.params[i].decode(p); err != nil {
			return fmt.Errorf("pool: %s: param %d: %w", r.Method, i, err)
		}
	}
	return nil
}

// Emit sends a progress event for this call to the caller: workerpool's
// {id, isEvent: true, payload} (delivered to exec(..., {on})), jest-worker's
// custom message (delivered to UNSTABLE_onCustomMessage), or, in a nodeipc
// Pool, to Call.Progress. worker-farm has no events: Emit returns an error
// wrapping errors.ErrUnsupported there.
func (r *Request) Emit(ctx context.Context, payload any) error {
	return r.call.emit(ctx, payload)
}

// Dialects of the parent, for ServeOptions.Dialect.
const (
	DialectWorkerpool = "workerpool"
	DialectJestWorker = "jest-worker"
	DialectWorkerFarm = "worker-farm"
)

// ServeOptions tune Serve. A nil *ServeOptions means the defaults.
type ServeOptions struct {
	// Dialect is the parent's message shape: DialectWorkerpool (also what a
	// Pool and the npm package @nodeipc/node speak), DialectJestWorker or
	// DialectWorkerFarm. Empty means detect it from the first message the
	// parent sends (see PROTOCOL.md §10).
	Dialect string

	// Concurrency is how many handlers may run at once; more calls wait
	// (in memory: the parent bounds how many it sends). Zero means no limit.
	// jest-worker sends one call at a time whatever this says.
	Concurrency int
}

// Serve answers calls from the parent on ch with handlers, keyed by method
// name, until the parent says to stop or goes away, or ctx is done. A Go
// worker is a program that does:
//
//	ch, err := nodeipc.FromEnv(nil)
//	...
//	err = pool.Serve(ctx, ch, handlers, nil)
//	ch.Close()
//
// The same program runs unmodified under a Pool of this package, workerpool
// (workerType 'process', forkOpts.execPath), worker-farm
// (workerOptions.execPath) and jest-worker (forkOptions.execPath with
// serialization 'json'); it ignores the arguments those pools pass it.
//
// Unless opts names the jest-worker or worker-farm dialect, Serve first
// sends workerpool's "ready" message (the other pools ignore it).
//
// Calls run concurrently, each with a context of its own. A call starts on
// the goroutine that received it, which spares it a hand-off to another
// goroutine; if it is still running 5 to 10 ms later, another goroutine
// takes over receiving, so a handler may block as long as it likes (the
// calls behind it wait that long, the first time). Calls of a method that
// blocked, or that took over 100 µs twice in a row, start on goroutines of
// their own.
//
// Serve returns nil when the parent asks the worker to stop (workerpool's
// terminate message, jest-worker's END, worker-farm's die) or disconnects,
// which is how a Go worker exits with its parent; it returns ctx's error
// when ctx is done. Before returning it cancels the handlers still running
// and waits for them. The caller still owns ch and must Close it, which
// flushes the last replies.
func Serve(ctx context.Context, ch *nodeipc.Channel, handlers map[string]Handler, opts *ServeOptions) error {
	var o ServeOptions
	if opts != nil {
		o = *opts
	}
	switch o.Dialect {
	case "", DialectWorkerpool, DialectJestWorker, DialectWorkerFarm:
	default:
		return fmt.Errorf("pool: Serve: unknown dialect %q", o.Dialect)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &server{
		ch:       ch,
		handlers: handlers,
		methods:  make(map[string]*method, len(handlers)),
		dialect:  o.Dialect,
		ctx:      ctx,
		cancel:   cancel,
		calls:    make(map[string]*serveCall),
		tasks:    make(chan func()),
		endc:     make(chan struct{}),
		handoff:  make(chan struct{}),
		armc:     make(chan struct{}, 1),
	}
	for name, h := range handlers {
		if h != nil {
			s.methods[name] = &method{h: h}
		}
	}
	if o.Concurrency > 0 {
		s.sem = make(chan struct{}, o.Concurrency)
	}
	s.clock.open()
	s.wg.Add(1)
	go s.watch()
	if s.dialect == "" || s.dialect == DialectWorkerpool {
		if err := s.send(wpReady); err != nil {
			s.end(ignoreDisconnect(err))
		}
	}
	for !s.receive() && s.follow() {
	}
	s.wg.Wait()
	s.clock.close()
	return s.err
}

// Where calls start. A call starts on the goroutine that received it
// (inline), which saves a hand-off to another goroutine and the thread
// wake-up behind it, unless its method is away: then it starts on a handler
// goroutine of its own (see spawn). A method goes away for awayCalls calls
// when one of its calls blocked the receiving (the watcher took it over), or
// when two in a row took longer than slowCall (a backlog of such calls
// should run in parallel, and a hand-off is cheap next to them); each call
// of an away method that takes less than slowCall brings it one call closer
// to starting inline again.
var (
	// takeoverAfter is the watcher's period: a call that has run inline
	// for between one and two periods loses the receiving to another
	// goroutine (a variable for tests).
	takeoverAfter = 5 * time.Millisecond
	// slowCall is the duration from which a call counts as slow.
	slowCall = 100 * time.Microsecond
)

const awayCalls = 64

type server struct {
	ch       *nodeipc.Channel
	handlers map[string]Handler
	methods  map[string]*method // the non-nil handlers
	dialect  string
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{}
	wg       sync.WaitGroup // goroutines: watcher, receivers, handlers
	tasks    chan func()    // to idle handler goroutines (unbuffered)

	mu    sync.Mutex
	calls map[string]*serveCall // workerpool calls in progress, by id

	// The receiving. One goroutine at a time receives, and runs the calls
	// it receives itself (inline) unless their method blocked before.
	// inline is odd while an inline call runs and grows by one when it
	// starts and when it ends, or when the watcher takes the receiving
	// away from it; running is its method.
	inline  atomic.Uint64
	running atomic.Pointer[method]
	handoff chan struct{} // to a goroutine waiting in follow: receive now
	armed   atomic.Bool   // the watcher is watching the inline calls
	armc    chan struct{} // cap 1: arm the watcher
	clock   serveClock

	endOnce sync.Once
	endc    chan struct{} // closed when serving ends
	err     error         // Serve's result, set before endc is closed
}

// method is one handler, and where its calls start.
type method struct {
	h    Handler
	away atomic.Int32 // calls left to start on goroutines of their own
	slow atomic.Int32 // slow calls in a row
}

// timed records that a call of m took d.
func (m *method) timed(d time.Duration) {
	if d < slowCall {
		m.slow.Store(0)
		if n := m.away.Load(); n > 0 {
			m.away.CompareAndSwap(n, n-1)
		}
		return
	}
	if m.slow.Add(1) >= 2 {
		m.away.Store(awayCalls)
	}
}

// serveCall is one call in progress.
type serveCall struct {
	s       *server
	req     Request
	ctx     context.Context
	cancel  func() // workerpool: cancels the call's own context
	dialect string

	id    any             // workerpool id (JSON text, or a V8 value), worker-farm idx
	child json.RawMessage // worker-farm child
	key   string          // workerpool: in s.calls

	// workerpool cleanup (s.mu): how many cleanup requests came, and
	// whether the result is being sent (then they are confirmed after it).
	cleanups int
	replying bool
}

var (
	errStop      = errors.New("stop")
	errTakenOver = errors.New("taken over")
)

// end ends serving with err (the first call wins): the receiving stops,
// and the calls still running are cancelled.
func (s *server) end(err error) {
	s.endOnce.Do(func() {
		s.err = err
		close(s.endc)
		s.cancel()
		s.clock.interrupt()
	})
}

// receive receives and dispatches messages on the calling goroutine. It
// returns true when serving has ended, and false when another goroutine
// took over receiving during a call that ran inline.
func (s *server) receive() bool {
	for {
		m, err := s.ch.Recv(s.ctx)
		if err != nil {
			var pe *nodeipc.ProtocolError
			if errors.As(err, &pe) {
				continue
			}
			if s.ctx.Err() != nil {
				s.end(s.ctx.Err())
			} else {
				s.end(ignoreDisconnect(err))
			}
			return true
		}
		if js, ok := s.jsEnvelope(m); ok {
			// The workerpool envelope with V8 values (see values.go).
			err = s.workerpoolJS(js)
		} else {
			var raw json.RawMessage
			if raw, err = messageJSON(m); err != nil {
				continue
			}
			if s.dialect == "" {
				s.dialect = detectDialect(raw)
			}
			switch s.dialect {
			case DialectJestWorker:
				err = s.jest(raw)
			case DialectWorkerFarm:
				err = s.farm(raw)
			default:
				err = s.workerpool(raw)
			}
		}
		switch {
		case err == errTakenOver:
			return false
		case err == errStop:
			s.end(nil)
			return true
		case err != nil:
			s.end(ignoreDisconnect(err))
			return true
		}
	}
}

// follow waits, on a goroutine that does not receive, until the receiving
// is handed to it (true) or serving ends (false).
func (s *server) follow() bool {
	select {
	case <-s.handoff:
		return true
	case <-s.endc:
		return false
	}
}

// receiver is a goroutine the watcher started to take over receiving.
func (s *server) receiver() {
	defer s.wg.Done()
	for !s.receive() && s.follow() {
	}
}

// takeover gives the receiving to a goroutine waiting in follow, or to a
// new one.
func (s *server) takeover() {
	select {
	case s.handoff <- struct{}{}:
	case <-s.endc:
	default:
		s.wg.Add(1)
		go s.receiver()
	}
}

// watch is the watcher: while inline calls run it looks at them every
// takeoverAfter, and takes the receiving away from one it has seen running
// at two looks in a row.
func (s *server) watch() {
	defer s.wg.Done()
	for {
		select {
		case <-s.armc:
		case <-s.endc:
			return
		}
		s.clock.arm(takeoverAfter)
		last := s.inline.Load()
		for {
			s.clock.wait(takeoverAfter, s.endc)
			select {
			case <-s.endc:
				return
			default:
			}
			cur := s.inline.Load()
			if cur != last {
				last = cur
				continue
			}
			if cur&1 == 1 {
				if mt := s.running.Load(); s.inline.CompareAndSwap(cur, cur+1) {
					mt.away.Store(awayCalls)
					s.takeover()
				}
				last = s.inline.Load()
				continue
			}
			// Nothing started for a whole period: sleep until a call
			// starts inline again (arm).
			s.armed.Store(false)
			if s.inline.Load() == cur {
				break
			}
			s.armed.Store(true)
			last = s.inline.Load()
		}
		s.clock.arm(0)
	}
}

// arm makes sure the watcher is watching.
func (s *server) arm() {
	if !s.armed.Load() && s.armed.CompareAndSwap(false, true) {
		select {
		case s.armc <- struct{}{}:
		default:
		}
	}
}

func ignoreDisconnect(err error) error {
	if errors.Is(err, nodeipc.ErrDisconnected) {
		return nil
	}
	return err
}

// detectDialect tells the pools apart by the shape of the first message:
// jest-worker sends arrays, worker-farm objects with owner "farm", and
// workerpool (and nodeipc) objects with id and method, or the bare
// terminate string.
func detectDialect(raw json.RawMessage) string {
	switch jsonKind(raw) {
	case '[':
		return DialectJestWorker
	case '{':
		var f struct {
			Owner string `json:"owner"`
		}
		if jsontext.Unmarshal(raw, &f) == nil && f.Owner == "farm" {
			return DialectWorkerFarm
		}
	}
	return DialectWorkerpool
}

func (s *server) send(v any) error { return sendValue(s.ctx, s.ch, v) }

// run runs call c: inline, unless its method is away or the Concurrency
// limit is reached, then on a handler goroutine (see the comment on
// takeoverAfter). It returns errTakenOver if the receiving was taken over
// while c ran inline: the calling goroutine no longer receives.
func (s *server) run(c *serveCall) error {
	mt := s.methods[c.req.Method]
	if mt == nil {
		c.finish(nil, &CallError{Name: "Error", Message: "Unknown method " + quote(c.req.Method)})
		return nil
	}
	if mt.away.Load() == 0 && s.acquire() {
		s.running.Store(mt)
		seq := s.inline.Add(1)
		s.arm()
		start := time.Now()
		result, err := mt.h(c.ctx, &c.req)
		d := time.Since(start)
		c.finish(result, err)
		s.release()
		if !s.inline.CompareAndSwap(seq, seq+1) {
			return errTakenOver // the watcher made mt away
		}
		mt.timed(d)
		return nil
	}
	s.spawn(func() {
		if s.sem != nil {
			select {
			case s.sem <- struct{}{}:
				defer s.release()
			case <-c.ctx.Done():
				c.finish(nil, c.ctx.Err())
				return
			}
		}
		start := time.Now()
		result, err := mt.h(c.ctx, &c.req)
		mt.timed(time.Since(start))
		c.finish(result, err)
	})
	return nil
}

// acquire takes a Concurrency slot without waiting, and reports whether it
// could.
func (s *server) acquire() bool {
	if s.sem == nil {
		return true
	}
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *server) release() {
	if s.sem != nil {
		<-s.sem
	}
}

// spawn runs f on an idle handler goroutine, or on a new one that lives
// until Serve returns (see runReusing).
func (s *server) spawn(f func()) { runReusing(s.tasks, &s.wg, s.ctx.Done(), f) }

// emit sends a progress event of c.
func (c *serveCall) emit(ctx context.Context, payload any) error {
	switch c.dialect {
	case DialectJestWorker:
		return c.s.send([]any{3, payload}) // PARENT_MESSAGE_CUSTOM
	case DialectWorkerFarm:
		return fmt.Errorf("pool: worker-farm has no progress events: %w", errors.ErrUnsupported)
	}
	return c.s.sendEnvelope(c.id, "isEvent", true, "payload", payload)
}

// finish sends the outcome of c in its dialect.
func (c *serveCall) finish(result any, err error) {
	switch c.dialect {
	case DialectJestWorker:
		c.finishJest(result, err)
	case DialectWorkerFarm:
		c.finishFarm(result, err)
	default:
		c.finishWorkerpool(result, err)
	}
}

// workerpool serves the workerpool dialect (PROTOCOL.md §10.2).
func (s *server) workerpool(raw json.RawMessage) error {
	switch jsonKind(raw) {
	case '"':
		var str string
		jsontext.Unmarshal(raw, &str)
		if str == wpTerminate {
			return errStop
		}
		return nil
	case '{':
	default:
		return nil
	}
	var env envelope
	if err := decodeEnvelope(raw, &env); err != nil || env.Method == nil {
		return nil
	}
	return s.call(env.ID, string(env.ID), *env.Method, jsonValues(env.Params))
}

// call serves one call of the workerpool envelope: id is the call's id as
// it came (JSON text, or a V8 value), key the same as a map key.
func (s *server) call(id any, key, method string, params []value) error {
	if method == wpCleanup {
		s.cleanup(id, key)
		return nil
	}
	c := &serveCall{s: s, req: Request{Method: method, params: params}, dialect: DialectWorkerpool, id: id}
	c.req.call = c
	switch method {
	case "methods":
		if s.handlers["methods"] == nil {
			c.sendResult(sortedNames(s.handlers), nil)
			return nil
		}
	case "run":
		if s.handlers["run"] == nil {
			c.sendResult(nil, &CallError{Name: "Error", Message: "nodeipc: a Go worker cannot run JavaScript functions (pool.exec with a function); call a method by name"})
			return nil
		}
	}
	cc := newCallContext(s.ctx)
	c.ctx, c.cancel = cc, cc.stop
	c.key = key
	s.mu.Lock()
	s.calls[c.key] = c
	s.mu.Unlock()
	return s.run(c)
}

// finishWorkerpool sends the result of a workerpool call, or, if the
// parent asked for cleanup, confirms that instead.
func (c *serveCall) finishWorkerpool(result any, err error) {
	s := c.s
	c.cancel()
	s.mu.Lock()
	cleaned := c.cleanups > 0
	if cleaned {
		s.forget(c)
	} else {
		c.replying = true
	}
	s.mu.Unlock()
	if !cleaned {
		c.sendResult(result, err)
		s.mu.Lock()
		s.forget(c)
		s.mu.Unlock()
	}
	for range c.cleanups {
		s.confirmCleanup(c.id)
	}
}

// forget removes c from s.calls; later cleanup requests for its id are
// confirmed at once. Call with s.mu held.
func (s *server) forget(c *serveCall) {
	if s.calls[c.key] == c {
		delete(s.calls, c.key)
	}
}

// sendResult sends workerpool's {id, result, error}.
func (c *serveCall) sendResult(result any, err error) {
	if err != nil {
		c.s.sendEnvelope(c.id, "result", nil, "error", toCallError(err).object())
		return
	}
	c.s.sendEnvelope(c.id, "result", result, "error", nil)
}

// cleanup answers workerpool's cleanup request for call id: the call's
// context is cancelled and, once its handler has returned, the worker
// confirms with error null (its result is dropped). An unknown id (the call
// already finished) is confirmed at once.
func (s *server) cleanup(id any, key string) {
	s.mu.Lock()
	c := s.calls[key]
	if c == nil {
		s.mu.Unlock()
		s.confirmCleanup(id)
		return
	}
	c.cleanups++
	replying := c.replying
	s.mu.Unlock()
	if !replying {
		c.cancel()
	}
}

func (s *server) confirmCleanup(id any) {
	s.sendEnvelope(id, "method", wpCleanup, "error", nil)
}

// jest serves jest-worker's child-process protocol (PROTOCOL.md §10.4).
func (s *server) jest(raw json.RawMessage) error {
	var msg []json.RawMessage
	if jsontext.Unmarshal(raw, &msg) != nil || len(msg) == 0 {
		return nil
	}
	var tag int
	jsontext.Unmarshal(msg[0], &tag)
	switch tag {
	case 0: // CHILD_MESSAGE_INITIALIZE [0, false, workerPath, setupArgs]
		return nil
	case 1: // CHILD_MESSAGE_CALL [1, false, method, args]
		if len(msg) < 4 {
			return nil
		}
		c := &serveCall{s: s, ctx: s.ctx, dialect: DialectJestWorker}
		c.req.call = c
		var params []json.RawMessage
		jsontext.Unmarshal(msg[2], &c.req.Method)
		jsontext.Unmarshal(msg[3], &params)
		c.req.params = jsonValues(params)
		return s.run(c)
	case 2: // CHILD_MESSAGE_END
		return errStop
	case 3: // CHILD_MESSAGE_MEM_USAGE
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return s.send([]any{4, ms.HeapAlloc}) // PARENT_MESSAGE_MEM_USAGE
	case 4: // CHILD_MESSAGE_CALL_SETUP
		return s.send([]any{0, nil})
	}
	return nil
}

// finishJest sends a jest-worker call's outcome.
func (c *serveCall) finishJest(result any, err error) {
	if err != nil {
		ce := toCallError(err)
		extra := ce.Data
		if extra == nil {
			extra = &jsvalue.Object{}
		}
		stack := ce.Stack
		if stack == "" {
			stack = ce.Error() + "\n    at <go worker>"
		}
		// PARENT_MESSAGE_CLIENT_ERROR; the fifth element must be an
		// object or jest-worker resolves the call instead.
		c.s.send([]any{1, ce.Name, ce.Message, stack, extra})
		return
	}
	c.s.send([]any{0, result}) // PARENT_MESSAGE_OK
}

// farm serves worker-farm's protocol (PROTOCOL.md §10.5).
func (s *server) farm(raw json.RawMessage) error {
	var msg struct {
		Owner  string            `json:"owner"`
		Event  string            `json:"event"`
		Module *string           `json:"module"`
		Idx    json.RawMessage   `json:"idx"`
		Child  json.RawMessage   `json:"child"`
		Method *string           `json:"method"`
		Args   []json.RawMessage `json:"args"`
	}
	if jsontext.Unmarshal(raw, &msg) != nil || msg.Owner != "farm" {
		return nil
	}
	if msg.Event == "die" {
		return errStop
	}
	if msg.Idx == nil {
		return nil // the first message names the module; a Go worker has none
	}
	method := "default"
	if msg.Method != nil {
		method = *msg.Method
	}
	c := &serveCall{s: s, ctx: s.ctx, dialect: DialectWorkerFarm, req: Request{Method: method, params: jsonValues(msg.Args)}, id: msg.Idx, child: msg.Child}
	c.req.call = c
	return s.run(c)
}

// finishFarm sends a worker-farm call's outcome.
func (c *serveCall) finishFarm(result any, err error) {
	var args []any
	if err != nil {
		ce := toCallError(err)
		e := &jsvalue.Object{}
		for k, v := range ce.Data.All() {
			e.Set(k, v)
		}
		stack := ce.Stack
		if stack == "" {
			stack = ce.Error() + "\n    at <go worker>"
		}
		e.Set("$error", "$error")
		e.Set("type", ce.Name)
		e.Set("message", ce.Message)
		e.Set("stack", stack)
		args = []any{e}
	} else {
		args = []any{nil, result}
	}
	c.s.send(struct {
		Owner string          `json:"owner"`
		Idx   any             `json:"idx"`
		Child json.RawMessage `json:"child"`
		Args  []any           `json:"args"`
	}{"farm", c.id, c.child, args})
}

// sleep waits for d, or until done is closed.
func sleep(d time.Duration, done <-chan struct{}) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-done:
	}
	t.Stop()
}
