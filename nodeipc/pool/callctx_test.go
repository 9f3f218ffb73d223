package pool

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

type ctxKey struct{}

// TestCallContextLikeWithCancel checks callContext against what
// context.WithCancel(parent) would do, with and without the upgrade that
// Done and Value cause.
func TestCallContextLikeWithCancel(t *testing.T) {
	closed := func(c context.Context) bool {
		select {
		case <-c.Done():
			return true
		default:
			return false
		}
	}
	t.Run("stopped before Done", func(t *testing.T) {
		c := newCallContext(context.Background())
		if err := c.Err(); err != nil {
			t.Fatalf("Err() = %v before stop", err)
		}
		c.stop()
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err() = %v after stop; want Canceled", err)
		}
		if !closed(c) || !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(c), context.Canceled) {
			t.Fatalf("after stop, Done closed %v, Err %v, Cause %v", closed(c), c.Err(), context.Cause(c))
		}
	})
	t.Run("stopped after Done", func(t *testing.T) {
		c := newCallContext(context.Background())
		if closed(c) {
			t.Fatal("Done closed before stop")
		}
		c.stop()
		if !closed(c) || !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("after stop, Done closed %v, Err %v", closed(c), c.Err())
		}
	})
	t.Run("parent done first", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		c := newCallContext(parent)
		<-parent.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err() = %v after the parent's deadline; want DeadlineExceeded", c.Err())
		}
		c.stop()
		if !closed(c) || !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("after the parent, then stop: Done closed %v, Err %v; want DeadlineExceeded", closed(c), c.Err())
		}
	})
	t.Run("parent done after stop", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newCallContext(parent)
		c.stop()
		cancel()
		if !errors.Is(c.Err(), context.Canceled) || !closed(c) || !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v, Done closed %v", c.Err(), closed(c))
		}
	})
	t.Run("parent done while upgraded", func(t *testing.T) {
		parent, cancel := context.WithCancelCause(context.Background())
		c := newCallContext(parent)
		done := c.Done()
		boom := errors.New("boom")
		cancel(boom)
		<-done
		if !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(c), boom) {
			t.Fatalf("Err %v, Cause %v; want Canceled, boom", c.Err(), context.Cause(c))
		}
	})
	t.Run("deadline and values", func(t *testing.T) {
		dl := time.Now().Add(time.Hour)
		parent, cancel := context.WithDeadline(context.WithValue(context.Background(), ctxKey{}, "v"), dl)
		defer cancel()
		c := newCallContext(parent)
		if d, ok := c.Deadline(); !ok || !d.Equal(dl) {
			t.Errorf("Deadline() = %v, %v; want %v", d, ok, dl)
		}
		if v := c.Value(ctxKey{}); v != "v" {
			t.Errorf("Value() = %v; want v", v)
		}
		c.stop()
		if d, ok := c.Deadline(); !ok || !d.Equal(dl) {
			t.Errorf("after stop, Deadline() = %v, %v; want %v", d, ok, dl)
		}
		if v := c.Value(ctxKey{}); v != "v" {
			t.Errorf("after stop, Value() = %v; want v", v)
		}
	})
	t.Run("children", func(t *testing.T) {
		c := newCallContext(context.Background())
		n := runtime.NumGoroutine()
		child, cancel := context.WithTimeout(c, time.Hour)
		defer cancel()
		if m := runtime.NumGoroutine(); m != n {
			t.Errorf("deriving a context started %d goroutines; want none", m-n)
		}
		c.stop()
		<-child.Done()
		if !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("child Err() = %v; want Canceled", child.Err())
		}
	})
}
