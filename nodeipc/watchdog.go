package nodeipc

import (
	"sync"
	"time"
)

// The watchdog gives lent read tokens back to their background readers
// when no Recv call has used them for a while (between watchPeriod and
// twice that), so that a program that stops calling Recv still sees
// internal messages, the end of the stream (Done) and its deferred Sends
// leave.
//
// It is one goroutine for all channels, running only while some token is
// lent. It waits for its period on a watchClock, not on a Go timer: with a
// Go timer pending, every sleep of the scheduler in the network poller
// programs a kernel timer, which on the benchmark VM cost a pinned round
// trip 5-8% more CPU (and a per-channel timer reset on every Recv doubled
// it). Nor does it sleep in a system call: a goroutine in a system call
// keeps its P until sysmon takes it back, up to 10 ms later, and a program
// with GOMAXPROCS=1 stopped for that long every period (a Go↔Go pipeline
// ran at 0.6 of a core per side; see docs/bench/README.md).
var watchdog struct {
	mu      sync.Mutex
	chans   map[*Channel]struct{}
	running bool
	clock   watchClock
}

// watchPeriod is the watchdog's period.
const watchPeriod = 20 * time.Millisecond

// watch makes the watchdog watch c's token (it is lent).
func watch(c *Channel) {
	watchdog.mu.Lock()
	defer watchdog.mu.Unlock()
	if c.tok.state.Load() == tokClosed {
		return
	}
	if watchdog.chans == nil {
		watchdog.chans = make(map[*Channel]struct{})
	}
	watchdog.chans[c] = struct{}{}
	c.tok.watched.Store(true)
	c.tok.seen = c.tok.epoch.Load()
	c.tok.still = 0
	if !watchdog.running {
		watchdog.running = true
		watchdog.clock.start(watchPeriod)
		go watchLoop()
	}
}

// unwatch stops watching c (closed).
func unwatch(c *Channel) {
	watchdog.mu.Lock()
	delete(watchdog.chans, c)
	c.tok.watched.Store(false)
	watchdog.mu.Unlock()
}

// watchLoop is the watchdog goroutine.
func watchLoop() {
	var idle []*Channel
	for {
		watchdog.clock.wait()
		watchdog.mu.Lock()
		for c := range watchdog.chans {
			t := &c.tok
			e := t.epoch.Load()
			switch t.state.Load() {
			case tokIdle:
				if e == t.seen {
					idle = append(idle, c) // lent and unused for a whole period
				}
				t.still = 0
			case tokRecv:
				// A Recv is reading: nothing to do. When it has been
				// blocked for two periods, stop watching (so an idle
				// process does not wake up for nothing); it watches again
				// when it returns (recvDone).
				if e == t.seen {
					t.still++
				} else {
					t.still = 0
				}
				if t.still < 2 {
					break
				}
				fallthrough
			default: // back with the background reader, or closed
				delete(watchdog.chans, c)
				t.watched.Store(false)
			}
			t.seen = e
		}
		if len(watchdog.chans) == 0 && len(idle) == 0 {
			watchdog.clock.stop()
			watchdog.running = false
			watchdog.mu.Unlock()
			return
		}
		watchdog.mu.Unlock()
		for i, c := range idle {
			c.tok.reclaim(c)
			idle[i] = nil
		}
		idle = idle[:0]
	}
}
