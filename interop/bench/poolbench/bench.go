package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"nodeipc.dev/interop/bench/internal/runinfo"
)

// bench is one run of the benchmark.
type bench struct {
	o        *options
	root     string
	node     string
	goWorker string
	// floorWorker is the worker of workerpool>floor (floorworker).
	floorWorker string
	configs     []*config
	// results holds every sample: config name → metric key → one value per
	// repetition.
	results map[string]map[string][]float64
	notes   []string
}

// methods are the tests, in order, and methodTitles their column titles.
var (
	methods      = []string{"add", "echo", "hash"}
	methodTitles = map[string]string{"add": "add(i, 1)", "echo": "echo 53 B", "hash": "SHA-256 of 4 KiB"}
)

// record adds a sample.
func (b *bench) record(config, key string, v float64) {
	m := b.results[config]
	if m == nil {
		m = map[string][]float64{}
		b.results[config] = m
	}
	m[key] = append(m[key], v)
}

// note records something that went wrong, for the report.
func (b *bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	logf("%s", s)
	b.notes = append(b.notes, s)
}

// started is a configuration with its running pool.
type started struct {
	cfg *config
	p   runningPool
	err error
}

// repetition starts every pool (order rotated by rep), then runs the tests
// interleaved across them (order rotated by rep and test), then stops them.
func (b *bench) repetition(ctx context.Context, rep int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var pools []*started
	defer func() {
		for _, s := range pools {
			if err := s.p.close(); err != nil && s.err == nil {
				b.note("repetition %d, %s: closing: %v", rep+1, s.cfg.Name, err)
			}
		}
	}()
	for _, c := range runinfo.Rotate(b.configs, rep) {
		p, err := c.start(ctx, b)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.note("repetition %d, %s: start: %v", rep+1, c.Name, err)
			continue
		}
		b.record(c.Name, "first", float64(p.firstAnswer())/float64(time.Millisecond))
		pools = append(pools, &started{cfg: c, p: p})
	}
	for ti, m := range methods {
		for _, s := range runinfo.Rotate(pools, rep+ti) {
			if s.err != nil {
				continue
			}
			parent, workers := s.p.pids()
			pc0, wc0 := cpuTime(parent), sumCPU(workers)
			d, err := s.p.run(ctx, m, b.o.n)
			pc1, wc1 := cpuTime(parent), sumCPU(workers)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.err = err
				b.note("repetition %d, %s, %s: %v", rep+1, s.cfg.Name, m, err)
				continue
			}
			n := float64(b.o.n)
			b.record(s.cfg.Name, m, n/d.Seconds())
			if pc0 >= 0 && pc1 >= 0 && wc0 >= 0 && wc1 >= 0 {
				b.record(s.cfg.Name, "cpu.parent."+m, (pc1-pc0).Seconds()/n*1e6)
				b.record(s.cfg.Name, "cpu.workers."+m, (wc1-wc0).Seconds()/n*1e6)
				b.record(s.cfg.Name, "util.parent."+m, (pc1-pc0).Seconds()/d.Seconds())
				b.record(s.cfg.Name, "util.workers."+m, (wc1-wc0).Seconds()/d.Seconds()/float64(len(workers)))
			}
			if b.o.verbose {
				logf("repetition %d, %s, %s: %.0f calls/s", rep+1, s.cfg.Name, m, n/d.Seconds())
			}
		}
	}
	return nil
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux platform Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user+system CPU time of process pid (all its
// threads), or -1 if it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name (field 2) may contain spaces: fields are counted
	// from the last ')'. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+s) * clockTick
}

// sumCPU is cpuTime summed over pids, or -1 if one cannot be read.
func sumCPU(pids []int) time.Duration {
	var t time.Duration
	for _, p := range pids {
		c := cpuTime(p)
		if c < 0 {
			return -1
		}
		t += c
	}
	return t
}
