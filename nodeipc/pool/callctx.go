package pool

import (
	"context"
	"sync"
	"time"
)

// callContext is the context of one workerpool call in Serve: Serve's
// context plus a cancellation of its own, for the parent's cleanup request.
// context.WithCancel costs every call two allocations and a registration
// in Serve's context; most handlers never look at their context, so
// callContext becomes a real one (upgrade) only when Done or Value is
// first called, and until then cancelling it only records that it is.
type callContext struct {
	parent context.Context

	mu       sync.Mutex
	real     context.Context // the upgrade, once Done or Value was called
	cancel   context.CancelFunc
	canceled bool // cancelled before the upgrade
}

var _ context.Context = (*callContext)(nil)

func newCallContext(parent context.Context) *callContext {
	return &callContext{parent: parent}
}

// upgrade returns the real context, making it on the first call.
func (c *callContext) upgrade() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real == nil {
		if c.canceled {
			// Keep its error context.Canceled even if the parent is done
			// now, as a context.WithCancel cancelled first would.
			c.real, c.cancel = context.WithCancel(context.WithoutCancel(c.parent))
			c.cancel()
		} else {
			c.real, c.cancel = context.WithCancel(c.parent)
		}
	}
	return c.real
}

// Deadline returns Serve's context's deadline.
func (c *callContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns a channel closed when the call is cancelled or Serve's
// context is done.
func (c *callContext) Done() <-chan struct{} { return c.upgrade().Done() }

// Err returns context.Canceled once the call was cancelled, or Serve's
// context's error once that is done, and nil before.
func (c *callContext) Err() error {
	c.mu.Lock()
	real, canceled := c.real, c.canceled
	c.mu.Unlock()
	switch {
	case real != nil:
		return real.Err()
	case canceled:
		return context.Canceled
	}
	return c.parent.Err()
}

// Value returns the value of Serve's context for key.
func (c *callContext) Value(key any) any { return c.upgrade().Value(key) }

// stop cancels the call. It is idempotent; after Serve's context is done
// it changes nothing (the call's error stays that context's).
func (c *callContext) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real != nil {
		c.cancel()
		return
	}
	if !c.canceled && c.parent.Err() == nil {
		c.canceled = true
	}
}
