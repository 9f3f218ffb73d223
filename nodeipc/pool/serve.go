package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
)

// Handler serves one method of a worker. ctx is cancelled when the caller
// cancels the call (or its deadline passes), when the parent tells the
// worker to stop, and when the channel ends; a Handler should return soon
// after. The result is sent to the caller encoded as JSON (nil is null); an
// error is sent as a *CallError (see CallError).
type Handler func(ctx context.Context, req *Request) (any, error)

// Request is one call received by Serve.
type Request struct {
	// Method is the name the caller used.
	Method string

	params []json.RawMessage
	emit   func(ctx context.Context, payload any) error
}

// NumParams returns how many parameters the caller passed.
func (r *Request) NumParams() int { return len(r.params) }

// Params decodes the call's positional parameters into v: the first into
// v[0], and so on, with encoding/json's rules. A nil v[i] skips that
// parameter; parameters the caller did not pass leave their v[i] untouched.
func (r *Request) Params(v ...any) error {
	for i, p := range v {
		if i >= len(r.params) {
			break
		}
		if p == nil {
			continue
		}
		if err := jsontext.Unmarshal(r.params[i], p); err != nil {
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
	return r.emit(ctx, payload)
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
// sends workerpool's "ready" message (the other pools ignore it); then it
// runs each call's handler on its own goroutine. It returns nil
// when the parent asks the worker to stop (workerpool's terminate message,
// jest-worker's END, worker-farm's die) or disconnects, which is how a Go
// worker exits with its parent; it returns ctx's error when ctx is done.
// Before returning it cancels the handlers still running and waits for
// them. The caller still owns ch and must Close it, which flushes the last
// replies.
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
		dialect:  o.Dialect,
		ctx:      ctx,
		calls:    make(map[string]*serveCall),
		tasks:    make(chan func()),
	}
	if o.Concurrency > 0 {
		s.sem = make(chan struct{}, o.Concurrency)
	}
	err := s.loop()
	cancel()
	s.wg.Wait()
	return err
}

type server struct {
	ch       *nodeipc.Channel
	handlers map[string]Handler
	dialect  string
	ctx      context.Context
	sem      chan struct{}
	wg       sync.WaitGroup
	tasks    chan func() // to idle handler goroutines (unbuffered)

	mu    sync.Mutex
	calls map[string]*serveCall // workerpool calls in progress, by id
}

type serveCall struct {
	cancel  context.CancelFunc
	done    chan struct{}
	cleaned bool // the parent asked for cleanup: drop the result
}

var errStop = errors.New("stop")

func (s *server) loop() error {
	if s.dialect == "" || s.dialect == DialectWorkerpool {
		if err := s.send(wpReady); err != nil {
			return ignoreDisconnect(err)
		}
	}
	for {
		m, err := s.ch.Recv(s.ctx)
		if err != nil {
			var pe *nodeipc.ProtocolError
			if errors.As(err, &pe) {
				continue
			}
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			return ignoreDisconnect(err)
		}
		raw, err := messageJSON(m)
		if err != nil {
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
		if err == errStop {
			return nil
		}
		if err != nil {
			return ignoreDisconnect(err)
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

// run runs the handler for method on a handler goroutine of its own (see
// spawn) and passes the outcome to reply.
func (s *server) run(ctx context.Context, method string, params []json.RawMessage,
	emit func(context.Context, any) error, done func(), reply func(result any, err error)) {
	s.spawn(func() {
		if done != nil {
			defer done()
		}
		if s.sem != nil {
			select {
			case s.sem <- struct{}{}:
				defer func() { <-s.sem }()
			case <-ctx.Done():
				reply(nil, ctx.Err())
				return
			}
		}
		req := &Request{Method: method, params: params, emit: emit}
		h := s.handlers[method]
		if h == nil {
			reply(nil, &CallError{Name: "Error", Message: "Unknown method " + quote(method)})
			return
		}
		reply(h(ctx, req))
	})
}

// spawn runs f on an idle handler goroutine, or on a new one that lives
// until Serve returns (see runReusing).
func (s *server) spawn(f func()) { runReusing(s.tasks, &s.wg, s.ctx.Done(), f) }

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
	if err := jsontext.Unmarshal(raw, &env); err != nil || env.Method == nil {
		return nil
	}
	id := env.ID
	method := *env.Method
	if method == wpCleanup {
		s.cleanup(id)
		return nil
	}
	reply := func(result any, err error) {
		if err != nil {
			s.send(struct {
				ID     json.RawMessage `json:"id"`
				Result any             `json:"result"`
				Error  *CallError      `json:"error"`
			}{id, nil, toCallError(err)})
			return
		}
		s.send(struct {
			ID     json.RawMessage `json:"id"`
			Result any             `json:"result"`
			Error  any             `json:"error"`
		}{id, result, nil})
	}
	switch method {
	case "methods":
		if s.handlers["methods"] == nil {
			reply(sortedNames(s.handlers), nil)
			return nil
		}
	case "run":
		if s.handlers["run"] == nil {
			reply(nil, &CallError{Name: "Error", Message: "nodeipc: a Go worker cannot run JavaScript functions (pool.exec with a function); call a method by name"})
			return nil
		}
	}
	key := string(id)
	ctx, cancel := context.WithCancel(s.ctx)
	c := &serveCall{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.calls[key] = c
	s.mu.Unlock()
	emit := func(ctx context.Context, payload any) error {
		return s.send(struct {
			ID      json.RawMessage `json:"id"`
			IsEvent bool            `json:"isEvent"`
			Payload any             `json:"payload"`
		}{id, true, payload})
	}
	done := func() {
		cancel()
		s.mu.Lock()
		if s.calls[key] == c {
			delete(s.calls, key)
		}
		s.mu.Unlock()
		close(c.done)
	}
	s.run(ctx, method, env.Params, emit, done, func(result any, err error) {
		s.mu.Lock()
		cleaned := c.cleaned
		s.mu.Unlock()
		if !cleaned {
			reply(result, err)
		}
	})
	return nil
}

// cleanup answers workerpool's cleanup request for call id: the call's
// context is cancelled and, once its handler has returned, the worker
// confirms with error null (its result is dropped). An unknown id (the call
// already finished) is confirmed at once.
func (s *server) cleanup(id json.RawMessage) {
	confirm := func() {
		s.send(struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Error  any             `json:"error"`
		}{id, wpCleanup, nil})
	}
	s.mu.Lock()
	c := s.calls[string(id)]
	if c != nil {
		c.cleaned = true
	}
	s.mu.Unlock()
	if c == nil {
		confirm()
		return
	}
	c.cancel()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-c.done
		confirm()
	}()
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
		var method string
		var params []json.RawMessage
		jsontext.Unmarshal(msg[2], &method)
		jsontext.Unmarshal(msg[3], &params)
		emit := func(ctx context.Context, payload any) error {
			return s.send([]any{3, payload}) // PARENT_MESSAGE_CUSTOM
		}
		s.run(s.ctx, method, params, emit, nil, func(result any, err error) {
			if err != nil {
				ce := toCallError(err)
				extra := map[string]json.RawMessage{}
				for k, v := range ce.Data {
					extra[k] = v
				}
				stack := ce.Stack
				if stack == "" {
					stack = ce.Error() + "\n    at <go worker>"
				}
				// PARENT_MESSAGE_CLIENT_ERROR; the fifth element must be an
				// object or jest-worker resolves the call instead.
				s.send([]any{1, ce.Name, ce.Message, stack, extra})
				return
			}
			s.send([]any{0, result}) // PARENT_MESSAGE_OK
		})
		return nil
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
	emit := func(context.Context, any) error {
		return fmt.Errorf("pool: worker-farm has no progress events: %w", errors.ErrUnsupported)
	}
	s.run(s.ctx, method, msg.Args, emit, nil, func(result any, err error) {
		var args []any
		if err != nil {
			ce := toCallError(err)
			e := map[string]any{}
			for k, v := range ce.Data {
				e[k] = v
			}
			stack := ce.Stack
			if stack == "" {
				stack = ce.Error() + "\n    at <go worker>"
			}
			e["$error"] = "$error"
			e["type"] = ce.Name
			e["message"] = ce.Message
			e["stack"] = stack
			args = []any{e}
		} else {
			args = []any{nil, result}
		}
		s.send(struct {
			Owner string          `json:"owner"`
			Idx   json.RawMessage `json:"idx"`
			Child json.RawMessage `json:"child"`
			Args  []any           `json:"args"`
		}{"farm", msg.Idx, msg.Child, args})
	})
	return nil
}
