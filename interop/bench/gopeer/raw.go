//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"nodeipc.dev/interop/bench/internal/shape"
)

// The raw configuration is the physical ceiling: the same tests over a bare
// AF_UNIX socketpair with blocking system calls, one write per message, no
// framing, no encoding. The parent drives the child with fixed 16-byte
// commands: op, message size, count.

const (
	rawLatency  = 'L' // echo n messages of size bytes, one at a time
	rawC2P      = 'C' // write n messages of size bytes, then wait
	rawP2C      = 'P' // read n*size bytes, then write one byte
	rawPipeline = 'Q' // echo whatever arrives until n*size bytes have
	rawStats    = 'S' // reply with 16 bytes: CPU µs, peak RSS KiB

	rawReadSize = 64 << 10 // what one read asks for, as libuv does
)

// rawConn is a blocking socket fd.
type rawConn int

// Write writes all of p, retrying short writes and EINTR.
func (c rawConn) Write(p []byte) (int, error) {
	for n := 0; n < len(p); {
		m, err := unix.Write(int(c), p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return len(p), nil
}

// Read reads once, retrying EINTR; 0 bytes is io.EOF.
func (c rawConn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(c), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// command sends rawchild one 16-byte command.
func (c rawConn) command(op byte, size, n int) error {
	var b [16]byte
	b[0] = op
	binary.BigEndian.PutUint32(b[4:], uint32(size))
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	_, err := c.Write(b[:])
	return err
}

// runRawChild serves rawparent's commands on fd 3 until EOF.
func runRawChild() error {
	c := rawConn(3)
	buf := make([]byte, 2<<20)
	if _, err := c.Write([]byte{1}); err != nil { // "ready"
		return err
	}
	var cmd [16]byte
	for {
		if _, err := io.ReadFull(c, cmd[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		op := cmd[0]
		size := int(binary.BigEndian.Uint32(cmd[4:]))
		n := int(binary.BigEndian.Uint64(cmd[8:]))
		if size > len(buf) {
			return fmt.Errorf("message size %d too large", size)
		}
		var err error
		switch op {
		case rawLatency:
			for range n {
				if _, err = io.ReadFull(c, buf[:size]); err != nil {
					break
				}
				if _, err = c.Write(buf[:size]); err != nil {
					break
				}
			}
		case rawC2P:
			msg := buf[:size]
			for range n {
				if _, err = c.Write(msg); err != nil {
					break
				}
			}
		case rawP2C:
			if err = drain(c, buf, size*n); err == nil {
				_, err = c.Write([]byte{1})
			}
		case rawPipeline:
			for left := size * n; left > 0 && err == nil; {
				var k int
				k, err = c.Read(buf[:min(rawReadSize, left)])
				if err == nil {
					_, err = c.Write(buf[:k])
					left -= k
				}
			}
		case rawStats:
			var b [16]byte
			binary.BigEndian.PutUint64(b[:], uint64(cpuTime().Microseconds()))
			binary.BigEndian.PutUint64(b[8:], uint64(peakRSS()))
			_, err = c.Write(b[:])
		default:
			err = fmt.Errorf("unknown command %q", op)
		}
		if err != nil {
			return err
		}
	}
}

// drain reads and discards n bytes.
func drain(c rawConn, buf []byte, n int) error {
	for n > 0 {
		k, err := c.Read(buf[:min(rawReadSize, n)])
		if err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// runRawParent starts "gopeer rawchild" on a socketpair and runs the plan's
// tests over it.
func runRawParent(p *shape.Plan) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	c := rawConn(fds[0])
	defer unix.Close(fds[0])
	childEnd := os.NewFile(uintptr(fds[1]), "rawchild")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	t0 := time.Now()
	cmd := exec.Command(self, "rawchild")
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		childEnd.Close()
		return err
	}
	childEnd.Close()
	buf := make([]byte, 2<<20)
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("waiting for the child's first byte: %w", err)
	}
	emit(shape.Result{Kind: shape.KindStartup, StartupMs: ms(time.Since(t0))})
	err = eachTest(p, func(t shape.Test) error {
		r := shape.Result{Kind: t.Kind, Shape: t.Shape, N: t.N}
		size := len(shape.JSON(t.Shape)) + 1
		if t.Kind == shape.KindLatency || t.Kind == shape.KindPipeline {
			size = len(shape.JSON(shape.Ping)) + 1
		}
		var c0, p0 time.Duration
		throughput := t.Kind == shape.KindC2P || t.Kind == shape.KindP2C || t.Kind == shape.KindPipeline
		if throughput {
			var err error
			if c0, err = rawChildCPU(c); err != nil {
				return err
			}
			p0 = cpuTime()
		}
		t0 := time.Now()
		var err error
		switch t.Kind {
		case shape.KindLatency:
			if _, err = rawRoundTrips(c, buf, size, warmup); err != nil {
				break
			}
			var c0, c1 time.Duration
			if c0, err = rawChildCPU(c); err != nil {
				break
			}
			p0 := cpuTime()
			var rtts []time.Duration
			if rtts, err = rawRoundTrips(c, buf, size, t.N); err != nil {
				break
			}
			p1 := cpuTime()
			if c1, err = rawChildCPU(c); err != nil {
				break
			}
			slices.Sort(rtts)
			r.MedianUs = us(rtts[len(rtts)/2])
			r.P99Us = us(rtts[len(rtts)*99/100])
			r.ChildCPUUs = us(c1-c0) / float64(t.N)
			r.ParentCPUUs = us(p1-p0) / float64(t.N)
		case shape.KindC2P:
			if err = c.command(rawC2P, size, t.N); err == nil {
				err = drain(c, buf, size*t.N)
			}
			setRate(&r, time.Since(t0))
		case shape.KindP2C:
			if err = c.command(rawP2C, size, t.N); err != nil {
				break
			}
			msg := buf[:size]
			for i := 0; i < t.N && err == nil; i++ {
				_, err = c.Write(msg)
			}
			if err == nil {
				_, err = io.ReadFull(c, buf[:1])
			}
			setRate(&r, time.Since(t0))
		case shape.KindPipeline:
			err = rawPipelineRun(c, buf, size, t.N, t.Window)
			setRate(&r, time.Since(t0))
		case shape.KindMem:
			r.VmHWMKiB = vmHWM(cmd.Process.Pid)
		default:
			err = fmt.Errorf("unknown test kind %q", t.Kind)
		}
		if err == nil && throughput {
			p1 := cpuTime()
			var c1 time.Duration
			if c1, err = rawChildCPU(c); err == nil {
				setUtil(&r, p1-p0, c1-c0)
			}
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", t.Kind, t.Shape, err)
		}
		emit(r)
		return nil
	})
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	unix.Shutdown(fds[0], unix.SHUT_WR)
	return cmd.Wait()
}

// rawRoundTrips times n echoes of size bytes, one at a time.
func rawRoundTrips(c rawConn, buf []byte, size, n int) ([]time.Duration, error) {
	if err := c.command(rawLatency, size, n); err != nil {
		return nil, err
	}
	msg := make([]byte, size)
	rtts := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, buf[:size]); err != nil {
			return nil, err
		}
		rtts = append(rtts, time.Since(t0))
	}
	return rtts, nil
}

// rawChildCPU asks rawchild for the CPU time it has used.
func rawChildCPU(c rawConn) (time.Duration, error) {
	if err := c.command(rawStats, 0, 0); err != nil {
		return 0, err
	}
	var b [16]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	return time.Duration(binary.BigEndian.Uint64(b[:])) * time.Microsecond, nil
}

// rawPipelineRun writes n messages of size bytes, one write each, keeping
// window of them unanswered, and reads the echoes.
func rawPipelineRun(c rawConn, buf []byte, size, n, window int) error {
	if err := c.command(rawPipeline, size, n); err != nil {
		return err
	}
	msg := make([]byte, size)
	batch := make([]byte, size*window)
	sent, got := 0, 0 // messages sent, bytes received
	for ; sent < min(window, n); sent++ {
		if _, err := c.Write(msg); err != nil {
			return err
		}
	}
	for got < size*n {
		k, err := c.Read(buf[:rawReadSize])
		if err != nil {
			return err
		}
		done := (got + k) / size
		got += k
		if k := min(done+window, n) - sent; k > 0 && os.Getenv("RAWBATCH") != "" {
			if _, err := c.Write(batch[:k*size]); err != nil {
				return err
			}
			sent += k
		}
		for ; sent < min(done+window, n); sent++ {
			if _, err := c.Write(msg); err != nil {
				return err
			}
		}
	}
	return nil
}
