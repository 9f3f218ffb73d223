package nodeipc

import (
	"context"
	"testing"
	"time"
)

func watched(c *Channel) bool {
	watchdog.mu.Lock()
	defer watchdog.mu.Unlock()
	_, ok := watchdog.chans[c]
	return ok
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The watchdog stops looking at a channel whose Recv is blocked in its own
// read (an idle process must not wake up every period), looks again once
// that Recv returns, and gives a lent token that nobody uses back to the
// background reader.
func TestWatchdogFollowsTheToken(t *testing.T) {
	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	got := make(chan error, 1)
	go func() {
		_, err := b.Recv(ctx)
		got <- err
	}()
	eventually(t, "Recv reads itself", func() bool { return b.tok.state.Load() == tokRecv })
	eventually(t, "the watchdog leaves the blocked Recv alone", func() bool { return !watched(b) })

	if err := a.Send(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s := b.tok.state.Load(); s != tokIdle && s != tokBG {
		t.Fatalf("token state %d after Recv returned", s)
	}
	eventually(t, "the unused token goes back to the background reader", func() bool {
		return b.tok.state.Load() == tokBG
	})
	eventually(t, "the watchdog lets the channel go", func() bool { return !watched(b) })
}
