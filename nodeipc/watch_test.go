package nodeipc

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// watching reports whether c's background reader is watching a lent token
// with its clock running.
func watching(c *Channel) bool {
	s := c.tok.state.Load()
	return (s == tokIdle || s == tokRecv) && !c.tok.paused.Load()
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

// watchPair returns a connected pair, closed at the end of the test, and
// a context for its calls.
func watchPair(t *testing.T) (a, b *Channel, ctx context.Context) {
	t.Helper()
	a, b, err := Pipe(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	if !a.tok.lend {
		t.Skip("the read token is lent only on Unix sockets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return a, b, ctx
}

// The watch pauses while a Recv call is blocked in its own read (an idle
// process must not wake up every period), resumes once that Recv returns,
// and gives a lent token that nobody uses back to the background reader.
func TestWatchFollowsTheToken(t *testing.T) {
	a, b, ctx := watchPair(t)

	got := make(chan error, 1)
	go func() {
		_, err := b.Recv(ctx)
		got <- err
	}()
	eventually(t, "Recv reads itself", func() bool { return b.tok.state.Load() == tokRecv })
	eventually(t, "the watch pauses for the blocked Recv", func() bool { return b.tok.paused.Load() })

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
	if b.tok.paused.Load() {
		t.Fatal("the watch is still paused with the token back")
	}
}

// While it waits for its period the watching reader must not sit in a
// system call: a goroutine in a system call keeps its P until sysmon takes
// it back (up to 10 ms later), and with GOMAXPROCS=1 every other goroutine
// of the program waits that long. Its wait is a read through the network
// poller ("IO wait") on Linux, a Go timer ("select") elsewhere.
func TestWatchWaitsWithoutHoldingAP(t *testing.T) {
	a, b, ctx := watchPair(t)
	// A Recv that read the socket itself leaves the token lent when it
	// returns: the reader watches it. (A message already queued would be
	// taken without the token, so the Recv starts first.) The watch gives
	// the token back after a period or two, so a slow machine may need
	// another round to catch it waiting.
	buf := make([]byte, 1<<20)
	waiting := 0
	for round := 0; round < 20 && waiting == 0; round++ {
		got := make(chan error, 1)
		go func() {
			_, err := b.Recv(ctx)
			got <- err
		}()
		eventually(t, "Recv reads itself", func() bool { return b.tok.state.Load() == tokRecv })
		if err := a.Send(ctx, round); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if !watching(b) {
				break // the token went back: the watch may have stopped
			}
			n := runtime.Stack(buf, true)
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if !strings.Contains(g, "nodeipc.(*readToken).lendAndWatch") {
					continue
				}
				head, _, _ := strings.Cut(g, "\n")
				if strings.Contains(head, "[syscall") {
					t.Fatalf("the watching reader waits in a system call:\n%s", g)
				}
				if strings.Contains(head, "[IO wait") || strings.Contains(head, "[select") {
					waiting++
				}
			}
			time.Sleep(time.Millisecond)
		}
	}
	if waiting == 0 {
		t.Fatal("never saw the watching reader waiting")
	}
}
