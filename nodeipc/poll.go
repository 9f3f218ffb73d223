package nodeipc

import (
	"runtime"
	"time"
)

// Polling before parking. A Recv call that reads the socket itself (it
// holds the read token, see token.go) and finds it empty polls it for a
// short while before it lets its goroutine park. On the machines measured,
// a park and the wake-up after it cost tens of microseconds of CPU, and as
// much latency, while a request/response peer's next bytes often come
// sooner than that. Whether polling pays is learnt per channel, from how
// often a poll finds data within pollFast: a poll that waits longer spins
// for more CPU than the park it saves, so it counts as a miss. While most
// polls hit, every empty read polls, for up to pollFor; when most do not
// (a slow or idle peer), only one empty read in pollProbe does, for up to
// pollFast, to notice when the peer speeds up. With one CPU to run on
// (runtime.NumCPU, which follows the affinity mask) the peer cannot answer
// while we poll, so nothing polls. The background reader never polls.

const (
	pollProbe = 16  // with polling off, one empty read in pollProbe polls
	pollScale = 256 // pollPolicy.miss of a channel whose polls all find nothing
)

// pollFor is how long one poll lasts at most, and pollFast how soon it
// must find data to count as a hit (variables for tests).
var (
	pollFor  = 100 * time.Microsecond
	pollFast = 30 * time.Microsecond
)

// pollPolicy decides, for the reads of one channel, whether an empty read
// polls. Only the holder of the read token uses it (under readMu). Its
// zero value polls.
type pollPolicy struct {
	miss  int // moving average of the share of polls that found nothing, in 1/pollScale
	since int // empty reads since the last poll
}

// multiCPU reports whether this process can run on more than one CPU.
var multiCPU = runtime.NumCPU() > 1

// budget returns how long the empty read about to park should poll first:
// pollFor, pollFast for a probe, or 0 for none.
func (p *pollPolicy) budget() time.Duration {
	if !multiCPU {
		return 0
	}
	if p.miss <= pollScale/2 {
		p.since = 0
		return pollFor
	}
	if p.since >= pollProbe-1 {
		p.since = 0
		return pollFast
	}
	p.since++
	return 0
}

// result records whether a poll found data within pollFast.
func (p *pollPolicy) result(hit bool) {
	v := pollScale
	if hit {
		v = 0
	}
	p.miss += (v - p.miss) / 8
}
