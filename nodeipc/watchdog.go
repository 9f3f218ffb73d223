package nodeipc

import "sync"

// The watchdog gives lent read tokens back to their background readers
// when no Recv call has used them for a while (between watchPeriod and
// twice that), so that a program that stops calling Recv still sees
// internal messages, the end of the stream (Done) and its deferred Sends
// leave.
//
// It is one goroutine for all channels, running only while some token is
// lent, and it sleeps in the kernel (sleepFor) rather than on a Go timer: a
// Go timer due every few milliseconds doubled the CPU a round trip costs on
// the benchmark VM (the scheduler's network-poller sleeps get a timeout).
// The period is long because each sleep is a blocking system call, after
// which the runtime's sysmon thread polls every 20 µs for a while: with a
// 2 ms period that cost a pool of Go workers a fifth of its throughput.
var watchdog struct {
	mu      sync.Mutex
	chans   map[*Channel]struct{}
	running bool
}

// watchPeriod is the watchdog's period, in milliseconds.
const watchPeriod = 20

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

func watchLoop() {
	var idle []*Channel
	for {
		sleepFor(watchPeriod)
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
