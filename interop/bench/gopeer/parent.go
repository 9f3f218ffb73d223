//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"nodeipc.dev/interop/bench/internal/shape"
	"nodeipc.dev/nodeipc"
)

// warmup is how many round trips run before the first latency test, so
// that neither side is measured while it starts up (JIT, page faults).
const warmup = 2000

// withPlan decodes the plan in args[0] and runs f with it.
func withPlan(args []string, f func(*shape.Plan) error) error {
	if len(args) != 1 {
		return errors.New("want one argument: the plan (JSON)")
	}
	var p shape.Plan
	if err := json.Unmarshal([]byte(args[0]), &p); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return f(&p)
}

// eachTest calls f for each test of the plan, then, if the plan is
// interactive, for each test read from stdin until it ends.
func eachTest(p *shape.Plan, f func(shape.Test) error) error {
	for _, t := range p.Tests {
		if err := f(t); err != nil {
			return err
		}
	}
	if !p.Interactive {
		return nil
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var t shape.Test
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return fmt.Errorf("test from stdin: %w", err)
		}
		if err := f(t); err != nil {
			return err
		}
	}
	return sc.Err()
}

// emit prints one result line for the driver.
func emit(r shape.Result) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	os.Stdout.Write(append(b, '\n'))
}

// childCommand returns the command that starts the plan's child.
func childCommand(c shape.Child) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	switch c.Kind {
	case "node":
		cmd = nodeipc.NodeCommand(c.Path, nil, c.Script, c.Args...)
	case "go":
		cmd = exec.Command(c.Path, c.Args...)
	default:
		return nil, fmt.Errorf("unknown child kind %q", c.Kind)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd, nil
}

// goParent runs a plan over a nodeipc channel.
type goParent struct {
	ch     *nodeipc.Channel
	pid    int
	ctx    context.Context
	warmed bool
}

// runParent is the Go parent: it starts the plan's child with nodeipc.Start
// and runs the plan's tests against it.
func runParent(p *shape.Plan) error {
	var ser nodeipc.Serialization
	if err := ser.UnmarshalText([]byte(p.Serialization)); err != nil {
		return err
	}
	cmd, err := childCommand(p.Child)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	ch, err := nodeipc.Start(cmd, &nodeipc.Options{Serialization: ser, SendQueueSize: sendQueue})
	if err != nil {
		return err
	}
	defer func() {
		ch.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	gp := &goParent{ch: ch, pid: cmd.Process.Pid, ctx: ctx}
	if _, err := gp.recv(); err != nil {
		return fmt.Errorf("waiting for the child's first message: %w", err)
	}
	emit(shape.Result{Kind: shape.KindStartup, StartupMs: ms(time.Since(t0))})
	err = eachTest(p, func(t shape.Test) error {
		r, err := gp.run(t)
		if err != nil {
			return fmt.Errorf("%s %s: %w", t.Kind, t.Shape, err)
		}
		emit(r)
		return nil
	})
	if err != nil {
		return err
	}
	if err := ch.Disconnect(ctx); err != nil {
		return err
	}
	return cmd.Wait()
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recv receives the next message from the child.
func (g *goParent) recv() (*nodeipc.Message, error) {
	return g.ch.Recv(g.ctx)
}

// send queues v for the child.
func (g *goParent) send(v any) error { return g.ch.Send(g.ctx, v) }

// run runs one test. Throughput tests also measure how busy each side was.
func (g *goParent) run(t shape.Test) (shape.Result, error) {
	switch t.Kind {
	case shape.KindC2P, shape.KindP2C, shape.KindPipeline:
	default:
		return g.run1(t)
	}
	c0, err := g.childCPU()
	if err != nil {
		return shape.Result{}, err
	}
	p0 := cpuTime()
	r, err := g.run1(t)
	if err != nil {
		return r, err
	}
	p1 := cpuTime()
	c1, err := g.childCPU()
	if err != nil {
		return r, err
	}
	setUtil(&r, p1-p0, c1-c0)
	return r, nil
}

// setUtil records the CPU time each side used during a test of r.Seconds.
func setUtil(r *shape.Result, parent, child time.Duration) {
	if r.Seconds > 0 {
		r.ParentUtil = parent.Seconds() / r.Seconds
		r.ChildUtil = child.Seconds() / r.Seconds
	}
}

// run1 runs one test and times it.
func (g *goParent) run1(t shape.Test) (shape.Result, error) {
	r := shape.Result{Kind: t.Kind, Shape: t.Shape, N: t.N}
	switch t.Kind {
	case shape.KindLatency:
		if !g.warmed {
			if _, err := g.roundTrips(warmup); err != nil {
				return r, err
			}
			g.warmed = true
		}
		c0, err := g.childCPU()
		if err != nil {
			return r, err
		}
		p0 := cpuTime()
		rtts, err := g.roundTrips(t.N)
		if err != nil {
			return r, err
		}
		p1 := cpuTime()
		c1, err := g.childCPU()
		if err != nil {
			return r, err
		}
		slices.Sort(rtts)
		r.MedianUs = us(rtts[len(rtts)/2])
		r.P99Us = us(rtts[len(rtts)*99/100])
		r.ChildCPUUs = us(c1-c0) / float64(t.N)
		r.ParentCPUUs = us(p1-p0) / float64(t.N)
		return r, nil
	case shape.KindC2P:
		t0 := time.Now()
		if err := g.send(&shape.Msg{Op: shape.KindC2P, Shape: t.Shape, N: t.N}); err != nil {
			return r, err
		}
		for range t.N {
			m, err := g.recv()
			if err != nil {
				return r, err
			}
			err = decodeShape(m, t.Shape)
			m.Release()
			if err != nil {
				return r, err
			}
		}
		setRate(&r, time.Since(t0))
	case shape.KindP2C:
		v := shape.Value(t.Shape)
		if v == nil {
			return r, fmt.Errorf("unknown shape %q", t.Shape)
		}
		t0 := time.Now()
		if err := g.send(&shape.Msg{Op: shape.KindP2C, Shape: t.Shape, N: t.N}); err != nil {
			return r, err
		}
		for range t.N {
			if err := g.send(v); err != nil {
				return r, err
			}
		}
		if err := g.expect("done"); err != nil {
			return r, err
		}
		setRate(&r, time.Since(t0))
	case shape.KindPipeline:
		t0 := time.Now()
		if err := g.pipeline(t.N, t.Window); err != nil {
			return r, err
		}
		setRate(&r, time.Since(t0))
	case shape.KindMem:
		r.VmHWMKiB = vmHWM(g.pid)
	default:
		return r, fmt.Errorf("unknown test kind %q", t.Kind)
	}
	return r, nil
}

// us converts d to microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// setRate records the wall time d of a test of r.N operations.
func setRate(r *shape.Result, d time.Duration) {
	r.Seconds = d.Seconds()
	if r.Seconds > 0 {
		r.Rate = float64(r.N) / r.Seconds
	}
}

// roundTrips sends n pings one at a time, each after the previous echo has
// been received and decoded, and returns the round-trip times.
func (g *goParent) roundTrips(n int) ([]time.Duration, error) {
	rtts := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		ping := shape.NewPing(i)
		if err := g.send(&ping); err != nil {
			return nil, err
		}
		m, err := g.recv()
		if err != nil {
			return nil, err
		}
		var echo shape.Msg
		err = m.Decode(&echo)
		m.Release()
		if err != nil {
			return nil, err
		}
		rtts = append(rtts, time.Since(t0))
		if echo.ID != i {
			return nil, fmt.Errorf("echo %d for ping %d", echo.ID, i)
		}
	}
	return rtts, nil
}

// pipeline sends n pings keeping window of them in flight.
func (g *goParent) pipeline(n, window int) error {
	sent := 0
	for ; sent < min(window, n); sent++ {
		ping := shape.NewPing(sent)
		if err := g.send(&ping); err != nil {
			return err
		}
	}
	for range n {
		m, err := g.recv()
		if err != nil {
			return err
		}
		var echo shape.Msg
		err = m.Decode(&echo)
		m.Release()
		if err != nil {
			return err
		}
		if sent < n {
			ping := shape.NewPing(sent)
			if err := g.send(&ping); err != nil {
				return err
			}
			sent++
		}
	}
	return nil
}

// expect receives one message and checks that its op is op.
func (g *goParent) expect(op string) error {
	m, err := g.recv()
	if err != nil {
		return err
	}
	var msg shape.Msg
	if err := m.Decode(&msg); err != nil {
		return err
	}
	if msg.Op != op {
		return fmt.Errorf("got op %q; want %q", msg.Op, op)
	}
	return nil
}

// childCPU asks the child for the CPU time it has used.
func (g *goParent) childCPU() (time.Duration, error) {
	if err := g.send(&shape.Msg{Op: "stats"}); err != nil {
		return 0, err
	}
	m, err := g.recv()
	if err != nil {
		return 0, err
	}
	var st shape.Stats
	if err := m.Decode(&st); err != nil {
		return 0, err
	}
	if st.Op != "stats" {
		return 0, fmt.Errorf("got op %q; want stats", st.Op)
	}
	return time.Duration(st.CPUus) * time.Microsecond, nil
}
