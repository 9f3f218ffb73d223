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
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// Exit statuses of nodeipc pool.
const (
	poolExitOK     = 0
	poolExitSetup  = 1 // usage error, or the pool could not be started
	poolExitFailed = 3 // at least one call failed
)

// poolCommand is "nodeipc pool [flags] -- COMMAND [ARGS...]".
func poolCommand() *cli.Command {
	return &cli.Command{
		Name:      "pool",
		Usage:     "run calls read from stdin on a pool of worker processes",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: `Starts --workers copies of COMMAND, each with an IPC channel at fd 3 (a Go
program using pool.Serve, or a Node script using the npm package
@nodeipc/node or workerpool.worker()). Reads one call per line on stdin:

   {"method": "add", "params": [1, 2]}        (optional "id", echoed back)

and writes one JSON line per call on stdout, in input order (or as calls
complete with --unordered):

   {"id": 1, "result": 3}
   {"id": 2, "error": {"name": "TypeError", "message": "...", ...}}

A call without "id" gets its line number. Worker output goes to stderr, each
line prefixed with the worker's name; so do a progress line (when stderr is
a terminal) and a summary.

With --nats URL --pool NAME there is no COMMAND: the calls go to the agents
of pool NAME (see nodeipc agent --help), with the same input and output;
--workers × --concurrency then only sizes how many calls are read ahead.

EXIT STATUS:
   0   every call succeeded
   3   at least one call failed
   1   usage error, or the pool could not be started`,
		Flags: append(append(workerFlags(),
			&cli.BoolFlag{Name: "unordered", Usage: "write results as calls complete, not in input order"},
			&cli.DurationFlag{Name: "timeout", Usage: "deadline of each call (0: none)"},
			&cli.BoolFlag{Name: "retry", Usage: "retry a call once on another worker if its worker dies"},
		), poolRemoteFlags()...),
		Action: func(cCtx *cli.Context) error {
			ws, err := readWorkerSet(cCtx)
			if err != nil {
				return cli.Exit("pool: usage: "+err.Error(), poolExitSetup)
			}
			cfg := poolConfig{
				workerSet: ws,
				Unordered: cCtx.Bool("unordered"),
				Timeout:   cCtx.Duration("timeout"),
				Retry:     cCtx.Bool("retry"),
				Remote:    readPoolRemote(cCtx),
			}
			ctx := cCtx.Context
			if ctx == nil {
				ctx = context.Background()
			}
			code := runPool(ctx, cfg, cCtx.App.Reader, cCtx.App.Writer, cCtx.App.ErrWriter)
			if code != poolExitOK {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// poolConfig is what the flags say.
type poolConfig struct {
	workerSet
	Unordered bool
	Timeout   time.Duration
	Retry     bool
	Remote    *poolRemote // --nats: the agents run the calls
}

// poolLine is one call read from stdin.
type poolLine struct {
	ID     json.RawMessage // as written back: JSON text
	Method string
	Params []any
}

// parsePoolLine reads one call. The line is read into JavaScript values
// (jsvalue.ParseJSON), so the objects in the parameters reach the worker
// with their keys in the order of the line; with advanced serialization it
// is read as the JSON view (jsvalue.FromJSON), so tagged values such as
// {"$js":"Map",...} reach it as the JavaScript values they stand for.
func parsePoolLine(text []byte, mode nodeipc.Serialization) (poolLine, error) {
	parse := jsvalue.ParseJSON
	if mode == nodeipc.Advanced {
		parse = jsvalue.FromJSON
	}
	v, err := parse(text)
	if err != nil {
		return poolLine{}, err
	}
	call, _ := v.(*jsvalue.Object)
	method, _ := call.Get("method")
	var in poolLine
	if in.Method, _ = method.(string); in.Method == "" {
		return poolLine{}, errors.New("a call is an object with a \"method\"")
	}
	if id, ok := call.Get("id"); ok {
		if in.ID, err = jsvalue.AppendStringify(nil, id); err != nil {
			return poolLine{}, fmt.Errorf("id: %w", err)
		}
	}
	switch params, _ := call.Get("params"); p := params.(type) {
	case []any:
		in.Params = p
	case nil:
	default:
		return poolLine{}, errors.New("\"params\" must be an array")
	}
	return in, nil
}

// poolResult is one line written to stdout.
type poolResult struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  any             `json:"error,omitempty"`
}

// runPool runs the pool command and returns its exit status. It is the
// command's logic without urfave/cli, so tests call it directly.
func runPool(ctx context.Context, cfg poolConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	report := func(format string, args ...any) {
		fmt.Fprintf(stderr, "nodeipc pool: %s\n", fmt.Sprintf(format, args...))
	}
	if len(cfg.Args) == 0 && cfg.Remote == nil {
		report("usage: no COMMAND (nodeipc pool [flags] -- COMMAND [ARGS...])")
		return poolExitSetup
	}
	if len(cfg.Args) > 0 && cfg.Remote != nil {
		report("usage: no COMMAND with --nats and --pool: the agents run the workers")
		return poolExitSetup
	}
	if cfg.Workers <= 0 || cfg.Concurrency <= 0 {
		report("usage: --workers and --concurrency must be at least 1")
		return poolExitSetup
	}
	errOut := &lockedWriter{w: stderr} // the pool, the progress line and the summary write to it
	var p poolRunner
	var err error
	if cfg.Remote != nil {
		p, err = cfg.Remote.start()
	} else {
		p, err = pool.New(cfg.options(errOut))
	}
	if err != nil {
		report("%v", err)
		return poolExitSetup
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		total, done, failed atomic.Int64
		outMu               sync.Mutex
		next                int // ordered mode: index of the next result to write
		ready               = map[int][]byte{}
		wg                  sync.WaitGroup
		// At most this many calls are read ahead of the results written,
		// so memory stays bounded whatever the size of stdin.
		window = make(chan struct{}, 2*cfg.Workers*cfg.Concurrency+64)
	)
	write := func(idx int, line []byte) {
		outMu.Lock()
		defer outMu.Unlock()
		if cfg.Unordered {
			stdout.Write(line)
			<-window
			return
		}
		ready[idx] = line
		for {
			l, ok := ready[next]
			if !ok {
				return
			}
			delete(ready, next)
			stdout.Write(l)
			next++
			<-window
		}
	}

	stopProgress := func() {}
	if isTerminal(stderr) {
		stopProgress = poolProgress(errOut, p, &total, &done, &failed)
	}

	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), nodeipc.DefaultMaxMessageSize)
	lineNo, idx := 0, 0
	for sc.Scan() {
		lineNo++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		i := idx
		idx++
		total.Add(1)
		in, err := parsePoolLine(text, cfg.Serialization)
		if err != nil {
			failed.Add(1)
			done.Add(1)
			write(i, poolLineJSON(poolResult{
				ID:    json.RawMessage(fmt.Sprint(lineNo)),
				Error: map[string]string{"name": "SyntaxError", "message": fmt.Sprintf("line %d: %v", lineNo, err)},
			}))
			continue
		}
		if len(in.ID) == 0 {
			in.ID = json.RawMessage(fmt.Sprint(lineNo))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx := ctx
			if cfg.Timeout > 0 {
				var c context.CancelFunc
				cctx, c = context.WithTimeout(ctx, cfg.Timeout)
				defer c()
			}
			// json: the result's text as the worker sent it; advanced: its
			// JSON view, as run prints values.
			var result json.RawMessage
			var value any
			call := &pool.Call{Method: in.Method, Params: in.Params, Result: &result, Idempotent: cfg.Retry}
			if cfg.Serialization == nodeipc.Advanced {
				call.Result = &value
			}
			err := p.Do(cctx, call)
			if err == nil && cfg.Serialization == nodeipc.Advanced {
				result, err = jsvalue.AppendJSON(nil, value)
			}
			res := poolResult{ID: in.ID}
			if err != nil {
				failed.Add(1)
				res.Error = poolErrorJSON(err)
			} else {
				if len(result) == 0 {
					result = json.RawMessage("null")
				}
				res.Result = result
			}
			done.Add(1)
			write(i, poolLineJSON(res))
		}()
	}
	readErr := sc.Err()
	wg.Wait()
	stopProgress()
	stats := p.Stats()
	closeErr := p.Close()

	fmt.Fprintf(errOut, "nodeipc pool: %d calls, %d ok, %d failed; %d worker restarts, %d recycled; latency p50 %v p90 %v p99 %v\n",
		total.Load(), total.Load()-failed.Load(), failed.Load(), stats.Restarts, stats.Recycled,
		stats.LatencyP50.Round(time.Microsecond), stats.LatencyP90.Round(time.Microsecond), stats.LatencyP99.Round(time.Microsecond))
	switch {
	case readErr != nil:
		report("reading stdin: %v", readErr)
		return poolExitSetup
	case closeErr != nil:
		report("%v", closeErr)
		return poolExitSetup
	case failed.Load() > 0 || ctx.Err() != nil:
		return poolExitFailed
	}
	return poolExitOK
}

// poolErrorJSON is the "error" of a failed call.
func poolErrorJSON(err error) any {
	var ce *pool.CallError
	var we *pool.WorkerError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &we):
		stderr := we.Stderr
		if stderr == nil {
			stderr = []string{}
		}
		return map[string]any{"name": "WorkerError", "message": we.Error(), "worker": we.Worker, "reason": we.Reason, "stderr": stderr}
	case errors.Is(err, context.DeadlineExceeded):
		return map[string]string{"name": "TimeoutError", "message": err.Error()}
	case errors.Is(err, context.Canceled):
		return map[string]string{"name": "AbortError", "message": err.Error()}
	}
	return map[string]string{"name": "Error", "message": err.Error()}
}

func poolLineJSON(v poolResult) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		b, _ := json.Marshal(poolResult{ID: v.ID, Error: map[string]string{"name": "Error", "message": "encoding the result: " + err.Error()}})
		buf.Write(append(b, '\n'))
	}
	return buf.Bytes()
}

// poolProgress rewrites one status line on the terminal w until stopped.
func poolProgress(w io.Writer, p poolRunner, total, done, failed *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				s := p.Stats()
				fmt.Fprintf(w, "\r\033[K%d/%d done, %d failed, %d running, %d queued, %d workers",
					done.Load(), total.Load(), failed.Load(), s.InFlight, s.Queued, s.Ready)
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
