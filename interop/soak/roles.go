//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nodeipc.dev/nodeipc"
)

// The suite's Go halves run as separate processes (this program started
// again with SOAK_ROLE set), so that each one's peak memory, fds and
// goroutines are its own. Each prints one JSON result on stdout.
var roles = map[string]func() error{
	"gochild":    goChild,
	"echo":       hostileChild,
	"goparent":   goParent,
	"cycles":     cycles,
	"stopped":    stoppedPeer,
	"holdparent": holdParent,
}

// runRole runs the role named by SOAK_ROLE, if any, and exits.
func runRole() {
	name := os.Getenv("SOAK_ROLE")
	if name == "" {
		return
	}
	f, ok := roles[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "soak: unknown role %q\n", name)
		os.Exit(2)
	}
	if err := f(); err != nil {
		fmt.Fprintf(os.Stderr, "soak %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func printJSON(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }

// roleDeadline bounds every role: none runs longer than this.
const roleDeadline = 5 * time.Minute

// ProcStats are a Go process's own figures.
type ProcStats struct {
	FDs        int     `json:"fds"`
	Goroutines int     `json:"goroutines"`
	HeapMiB    float64 `json:"heap_mib"` // HeapInuse after a GC
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// settledStats waits (at most a second) for this process to be down to its
// main goroutine, which it is once the library's shared watchdog, which
// runs only while some channel needs it, has stopped; then it returns the
// figures.
func settledStats() ProcStats {
	for range 100 {
		if runtime.NumGoroutine() == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return selfStats()
}

// warmUp exchanges one message over a nodeipc.Pipe, so that what the
// runtime opens once for a process (the network poller's fds) is open
// before the figures that are compared are taken.
func warmUp() error {
	a, b, err := nodeipc.Pipe(nil)
	if err != nil {
		return err
	}
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Send(ctx, 1); err != nil {
		return err
	}
	_, err = b.Recv(ctx)
	return err
}

func selfStats() ProcStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ProcStats{
		FDs:        openFDs(0),
		Goroutines: runtime.NumGoroutine(),
		HeapMiB:    float64(ms.HeapInuse) / (1 << 20),
		PeakRSSMiB: peakRSSMiB(0),
	}
}

// goChild is the Go child of parent.js: it sends every message back as it
// came and, asked for {"stats": true}, answers with its figures.
func goChild() error {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), roleDeadline)
	defer cancel()
	start := selfStats()
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			return nil
		}
		if err != nil {
			return err
		}
		var probe struct {
			Stats bool `json:"stats"`
		}
		if m.Decode(&probe) == nil && probe.Stats {
			err = ch.Send(ctx, map[string]any{"stats": map[string]ProcStats{"start": start, "end": selfStats()}})
		} else {
			err = ch.Send(ctx, m)
		}
		if err != nil {
			return err
		}
	}
}

// childEvent is one line the hostile-input child prints.
type childEvent struct {
	Kind  string     `json:"kind"` // "error", "decode", "send", "message", "stats"
	Class string     `json:"class,omitempty"`
	Error string     `json:"error,omitempty"`
	Start *ProcStats `json:"start,omitempty"`
	End   *ProcStats `json:"end,omitempty"`
}

// classify names the sentinel an error wraps.
func classify(err error) string {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"ErrMessageTooLarge", nodeipc.ErrMessageTooLarge},
		{"ErrInvalidHandle", nodeipc.ErrInvalidHandle},
		{"ErrInvalidMessage", nodeipc.ErrInvalidMessage},
		{"io.ErrUnexpectedEOF", io.ErrUnexpectedEOF},
		{"ErrDisconnected", nodeipc.ErrDisconnected},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

// hostileChild adopts the channel with a limit of SOAK_LIMIT bytes, reports
// every receive result, decodes each message and sends it back. Its figures
// are from before it adopts the channel and after it closes it.
func hostileChild() error {
	if err := warmUp(); err != nil {
		return err
	}
	start := settledStats()
	ch, err := nodeipc.FromEnv(&nodeipc.Options{MaxMessageSize: envInt("SOAK_LIMIT", 0)})
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), roleDeadline)
	defer cancel()
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			break
		}
		if err != nil {
			var perr *nodeipc.ProtocolError
			if !errors.As(err, &perr) {
				return err
			}
			printJSON(childEvent{Kind: "error", Class: classify(err), Error: err.Error()})
			continue
		}
		if h := m.Handle(); h != nil {
			h.Close()
		}
		var v any
		if err := m.Decode(&v); err != nil {
			printJSON(childEvent{Kind: "decode", Class: classify(err), Error: err.Error()})
			continue
		}
		if err := ch.Send(ctx, v); err != nil {
			printJSON(childEvent{Kind: "send", Class: classify(err), Error: err.Error()})
			continue
		}
		printJSON(childEvent{Kind: "message"})
	}
	ch.Close()
	end := settledStats() // one fd fewer than at the start: the channel's socket
	return printJSON(childEvent{Kind: "stats", Start: &start, End: &end})
}

// message is what the soak exchanges: a sequence number and padding
// (64 KiB on every 512th message, to cross the read buffer's sizes).
type message struct {
	Seq int    `json:"seq"`
	Pad string `json:"pad"`
}

var bigPad = strings.Repeat("x", 64<<10)

// Exchange is the result of one message soak.
type Exchange struct {
	Sent      int        `json:"sent"`
	Received  int        `json:"received"`
	Lost      int        `json:"lost"`
	Reordered int        `json:"reordered"`
	Go        *ProcStats `json:"go,omitempty"`       // the Go side at the end
	GoStart   *ProcStats `json:"go_start,omitempty"` // and at the start
	Exit      any        `json:"exit"`
}

// goParent starts node SOAK_SCRIPT with Start, sends SOAK_COUNT messages
// while receiving their echoes, and checks they come back once, in order.
func goParent() error {
	n := envInt("SOAK_COUNT", 1000)
	mode := nodeipc.JSON
	if os.Getenv("SOAK_SERIALIZATION") == "advanced" {
		mode = nodeipc.Advanced
	}
	start := selfStats()
	cmd := nodeipc.NodeCommand(os.Getenv("SOAK_NODE"), nil, os.Getenv("SOAK_SCRIPT"))
	cmd.Stderr = os.Stderr
	ch, err := nodeipc.Start(cmd, &nodeipc.Options{Serialization: mode})
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), roleDeadline)
	defer cancel()
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			pad := "p"
			if i%512 == 0 {
				pad = bigPad
			}
			if err := ch.Send(ctx, message{Seq: i, Pad: pad}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	res := Exchange{Sent: n}
	next := 0
	for res.Received < n {
		m, err := ch.Recv(ctx)
		if err != nil {
			break
		}
		var got message
		if err := m.Decode(&got); err != nil {
			return err
		}
		m.Release()
		if got.Seq != next {
			res.Reordered++
		}
		next = got.Seq + 1
		res.Received++
	}
	if err := <-sendErr; err != nil {
		return err
	}
	res.Lost = res.Sent - res.Received
	ch.Disconnect(ctx)
	ch.Close()
	res.Exit = exitOf(cmd.Wait(), cmd)
	end := selfStats()
	res.Go, res.GoStart = &end, &start
	return printJSON(res)
}

// exitOf describes how cmd ended: 0, a status, or a signal name.
func exitOf(err error, cmd *exec.Cmd) any {
	if cmd.ProcessState == nil {
		return fmt.Sprint(err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return cmd.ProcessState.ExitCode()
}

// Cycles is the result of many start/exchange/disconnect cycles.
type Cycles struct {
	Cycles int       `json:"cycles"`
	Failed int       `json:"failed"`
	Before ProcStats `json:"before"`
	After  ProcStats `json:"after"`
}

// cycles starts SOAK_CHILD (a Go child program) SOAK_COUNT times with
// Start, exchanges a message, disconnects and waits, and compares this
// process's fds, goroutines and heap before and after (after a first
// cycle, and with only the main goroutine left).
func cycles() error {
	n := envInt("SOAK_COUNT", 100)
	ctx, cancel := context.WithTimeout(context.Background(), roleDeadline)
	defer cancel()
	one := func() error {
		cmd := exec.Command(os.Getenv("SOAK_CHILD"), "echo")
		ch, err := nodeipc.Start(cmd, nil)
		if err != nil {
			return err
		}
		defer ch.Close()
		if err := ch.Send(ctx, message{Seq: 1, Pad: "p"}); err != nil {
			return err
		}
		m, err := ch.Recv(ctx)
		if err != nil {
			return err
		}
		var got message
		if err := m.Decode(&got); err != nil || got.Seq != 1 {
			return fmt.Errorf("echo %+v, %v", got, err)
		}
		if err := ch.Disconnect(ctx); err != nil {
			return err
		}
		if err := ch.Close(); err != nil {
			return err
		}
		return cmd.Wait()
	}
	if err := one(); err != nil {
		return err
	}
	res := Cycles{Cycles: n, Before: settledStats()}
	for range n {
		if err := one(); err != nil {
			res.Failed++
			fmt.Fprintln(os.Stderr, "cycle:", err)
		}
	}
	res.After = settledStats()
	return printJSON(res)
}

// Stopped is the result of sending to a stopped child.
type Stopped struct {
	Accepted     int     `json:"accepted"`      // messages Send took before it blocked
	Blocked      bool    `json:"blocked"`       // Send blocked (backpressure)
	HeapGrowMiB  float64 `json:"heap_grow_mib"` // Go heap growth while blocked
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	Received     int     `json:"received"` // echoes once the child went on
	Lost         int     `json:"lost"`
	QueueSizeMiB float64 `json:"queue_size_mib"`
}

// stoppedPeer starts node SOAK_SCRIPT, stops it with SIGSTOP and keeps
// sending 1 KiB messages for SOAK_MILLIS: Send must block once the socket
// and the queue are full, and memory stay flat. Then SIGCONT: every message
// taken must come back.
func stoppedPeer() error {
	cmd := nodeipc.NodeCommand(os.Getenv("SOAK_NODE"), nil, os.Getenv("SOAK_SCRIPT"))
	cmd.Stderr = os.Stderr
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), roleDeadline)
	defer cancel()
	// One exchange first: the child is up and listening.
	if err := ch.Send(ctx, message{Seq: -1}); err != nil {
		return err
	}
	if _, err := ch.Recv(ctx); err != nil {
		return err
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	before := selfStats()
	res := Stopped{QueueSizeMiB: float64(nodeipc.DefaultSendQueueSize) / (1 << 20)}
	pad := bigPad[:1024]
	until := time.Now().Add(time.Duration(envInt("SOAK_MILLIS", 1000)) * time.Millisecond)
	for time.Now().Before(until) {
		sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := ch.Send(sctx, message{Seq: res.Accepted, Pad: pad})
		scancel()
		if errors.Is(err, context.DeadlineExceeded) {
			res.Blocked = true
			continue
		}
		if err != nil {
			return err
		}
		res.Accepted++
	}
	during := selfStats()
	res.HeapGrowMiB = during.HeapMiB - before.HeapMiB
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	for res.Received < res.Accepted {
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := ch.Recv(rctx)
		rcancel()
		if err != nil {
			break
		}
		m.Release()
		res.Received++
	}
	res.Lost = res.Accepted - res.Received
	res.PeakRSSMiB = peakRSSMiB(0)
	ch.Disconnect(ctx)
	ch.Close()
	cmd.Wait()
	return printJSON(res)
}

// holdParent starts node SOAK_SCRIPT (busy.js) with Start, with a
// parent-death signal if SOAK_PDEATHSIG is set, exchanges one message,
// prints the child's pid and waits to be killed.
func holdParent() error {
	cmd := nodeipc.NodeCommand(os.Getenv("SOAK_NODE"), nil, os.Getenv("SOAK_SCRIPT"))
	cmd.Stderr = os.Stderr
	if os.Getenv("SOAK_PDEATHSIG") != "" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ch.Send(ctx, message{Seq: 0}); err != nil {
		return err
	}
	if _, err := ch.Recv(ctx); err != nil {
		return err
	}
	fmt.Println(cmd.Process.Pid)
	<-ctx.Done()
	kill(cmd.Process.Pid)
	cmd.Wait()
	return nil
}
