// Package remotetest holds what the tests of remote pools share: a real
// NATS server embedded on 127.0.0.1 at a random port, and the test
// worker, a Go program whose methods report where and how often they ran.
package remotetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/pool"
)

// Server starts a NATS server on 127.0.0.1 at a random port, with opts
// (nil: the defaults) for everything but the address, and shuts it down
// when the test ends.
func Server(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	var o server.Options
	if opts != nil {
		o = *opts
	}
	o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	o.NoLog, o.NoSigs = true, true
	s, err := server.NewServer(&o)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server: not ready for connections within 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect connects to url and closes the connection when the test ends.
func Connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.NoReconnect()}, opts...)...)
	if err != nil {
		t.Fatalf("nats connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// EnvLog names the file the test worker appends a line to for every run
// and every cancellation it sees (see ReadLog).
const EnvLog = "NODEIPC_REMOTETEST_LOG"

// Where is what a worker reports about itself: its pid, its parent's pid
// (the agent's, when an agent runs the worker) and the number of calls it
// has started, this one included.
type Where struct {
	PID  int   `json:"pid"`
	PPID int   `json:"ppid"`
	Seq  int64 `json:"seq"`
}

var seq atomic.Int64

func here() Where {
	return Where{PID: os.Getpid(), PPID: os.Getppid(), Seq: seq.Add(1)}
}

// logf appends one line to the log named by EnvLog, if any. Lines under
// the pipe buffer size are written whole with O_APPEND.
func logf(format string, args ...any) {
	name := os.Getenv(EnvLog)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, format+"\n", args...)
	f.Close()
}

// Handlers are the test worker's methods:
//
//	whoami [token]          -> Where; logs "ran TOKEN PID SEQ"
//	sleep [ms, value, token] -> value, after ms milliseconds; with a token,
//	                           logs "ran TOKEN PID SEQ"
//	hold [token]            -> emits Where, then blocks until cancelled; logs
//	                           "ran TOKEN PID SEQ" and "cancelled TOKEN PID"
//	once [marker, token]    -> if the file marker does not exist: creates it
//	                           and does what hold does; otherwise returns
//	                           Where at once; logs "ran TOKEN PID SEQ"
//	progress [n]            -> emits {"i": 0} ... {"i": n-1}, returns n
//	fail                    -> a RangeError with code "E_RANGE"
//	crash                   -> writes "worker crashing" on stderr, exits 3
//	big [n]                 -> a string of n bytes
//	bigevent [n]            -> emits a string of n bytes, then returns true
//	run [...]               -> "ran" (stands in for workerpool's run)
func Handlers() map[string]pool.Handler {
	hold := func(ctx context.Context, req *pool.Request, token string, w Where) (any, error) {
		if err := req.Emit(ctx, w); err != nil {
			return nil, err
		}
		<-ctx.Done()
		logf("cancelled %s %d", token, w.PID)
		return nil, ctx.Err()
	}
	return map[string]pool.Handler{
		"whoami": func(ctx context.Context, req *pool.Request) (any, error) {
			token := "-"
			req.Params(&token)
			w := here()
			logf("ran %s %d %d", token, w.PID, w.Seq)
			return w, nil
		},
		"sleep": func(ctx context.Context, req *pool.Request) (any, error) {
			var ms int
			var v any
			var token string
			req.Params(&ms, &v, &token)
			if token != "" {
				w := here()
				logf("ran %s %d %d", token, w.PID, w.Seq)
			}
			t := time.NewTimer(time.Duration(ms) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return v, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"hold": func(ctx context.Context, req *pool.Request) (any, error) {
			token := "-"
			req.Params(&token)
			w := here()
			logf("ran %s %d %d", token, w.PID, w.Seq)
			return hold(ctx, req, token, w)
		},
		"once": func(ctx context.Context, req *pool.Request) (any, error) {
			var marker, token string
			req.Params(&marker, &token)
			w := here()
			logf("ran %s %d %d", token, w.PID, w.Seq)
			f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return w, nil
			}
			f.Close()
			return hold(ctx, req, token, w)
		},
		"progress": func(ctx context.Context, req *pool.Request) (any, error) {
			var n int
			req.Params(&n)
			for i := range n {
				if err := req.Emit(ctx, map[string]int{"i": i}); err != nil {
					return nil, err
				}
			}
			return n, nil
		},
		"fail": func(ctx context.Context, req *pool.Request) (any, error) {
			data := &jsvalue.Object{}
			data.Set("code", "E_RANGE")
			return nil, &pool.CallError{Name: "RangeError", Message: "out of range", Data: data}
		},
		"crash": func(ctx context.Context, req *pool.Request) (any, error) {
			fmt.Fprintln(os.Stderr, "worker crashing")
			os.Exit(3)
			return nil, nil
		},
		"big": func(ctx context.Context, req *pool.Request) (any, error) {
			var n int
			req.Params(&n)
			return strings.Repeat("x", n), nil
		},
		"bigevent": func(ctx context.Context, req *pool.Request) (any, error) {
			var n int
			req.Params(&n)
			if err := req.Emit(ctx, strings.Repeat("x", n)); err != nil {
				return nil, err
			}
			return true, nil
		},
		"run": func(ctx context.Context, req *pool.Request) (any, error) {
			return "ran", nil
		},
	}
}

// WorkerMain serves Handlers on the channel the process was started with
// and returns the exit status.
func WorkerMain() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	err = pool.Serve(context.Background(), ch, Handlers(), nil)
	ch.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// LogLine is one line of the worker log.
type LogLine struct {
	What  string // "ran" or "cancelled"
	Token string
	PID   int
	Seq   int64 // for "ran"
}

// ReadLog returns the lines of the worker log at path (none if it does
// not exist).
func ReadLog(t testing.TB, path string) []LogLine {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []LogLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			t.Fatalf("worker log line %q: want at least 3 fields", sc.Text())
		}
		l := LogLine{What: fs[0], Token: fs[1]}
		l.PID, _ = strconv.Atoi(fs[2])
		if len(fs) > 3 {
			l.Seq, _ = strconv.ParseInt(fs[3], 10, 64)
		}
		lines = append(lines, l)
	}
	return lines
}

// Runs counts the "ran" lines of the worker log at path by token: how
// many times each call ran.
func Runs(t testing.TB, path string) map[string]int {
	t.Helper()
	runs := map[string]int{}
	for _, l := range ReadLog(t, path) {
		if l.What == "ran" {
			runs[l.Token]++
		}
	}
	return runs
}

// Outcome is how one call ended: the Where its handler returned, or the
// call's error.
type Outcome struct {
	W   Where
	Err error
}

// HoldAndOnce starts two calls through do (a remote client's or a pool's
// Do) and returns how each ends: "hold" (token h1), which runs until its
// worker goes, and the idempotent "once" (token o1, marker file marker),
// which holds on its first run and answers at once when run again.
// progress sees their events: the first of each says it is running.
func HoldAndOnce(ctx context.Context, do func(context.Context, *pool.Call) error, marker string, progress func(pool.Event)) (held, moved <-chan Outcome) {
	h, m := make(chan Outcome, 1), make(chan Outcome, 1)
	go func() {
		var o Outcome
		o.Err = do(ctx, &pool.Call{Method: "hold", Params: []any{"h1"}, Result: &o.W, Progress: progress})
		h <- o
	}()
	go func() {
		var o Outcome
		o.Err = do(ctx, &pool.Call{Method: "once", Params: []any{marker, "o1"}, Result: &o.W, Progress: progress, Idempotent: true})
		m <- o
	}()
	return h, m
}

// WaitLog waits up to 20 seconds for a line of the worker log at path that
// ok accepts, and fails the test if none comes. The bound only keeps a
// bug from hanging the test.
func WaitLog(t testing.TB, path string, what string, ok func(LogLine) bool) LogLine {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, l := range ReadLog(t, path) {
			if ok(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the worker log within 20s; log:\n%v", what, ReadLog(t, path))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitGone waits up to 20 seconds for every pid to be Gone and returns
// those that are not. The bound only keeps a bug from hanging the test.
func WaitGone(pids ...int) []int {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []int
		for _, pid := range pids {
			if !Gone(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}
