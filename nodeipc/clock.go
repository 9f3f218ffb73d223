package nodeipc

import "time"

// timerClock ticks on a Go timer: the watch clock on systems without a
// timerfd, and Linux's when no timerfd can be made. Only the reader
// goroutine calls start, wait and stop; interrupt may be called from
// anywhere, at any time after init.
type timerClock struct {
	t    *time.Ticker
	kick chan struct{} // cap 1: interrupt's signal
}

func (w *timerClock) init() { w.kick = make(chan struct{}, 1) }

func (w *timerClock) start(period time.Duration) { w.t = time.NewTicker(period) }

// wait waits for the next tick or an interrupt (one made while the clock
// was not waiting ends the next wait at once).
func (w *timerClock) wait() {
	select {
	case <-w.t.C:
	case <-w.kick:
	}
}

func (w *timerClock) interrupt() { signal(w.kick) }

func (w *timerClock) stop() {
	if w.t != nil {
		w.t.Stop()
		w.t = nil
	}
	select {
	case <-w.kick:
	default:
	}
}
