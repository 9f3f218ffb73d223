//go:build linux

package nodeipc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests cover the paths where a Recv call reads the socket itself
// and Send leaves the writer asleep until that Recv comes back (token.go).

// A message sent after Recv, with no further Recv, still leaves; and the
// end of the stream is still seen without a Recv.
func TestSendAfterRecvLeavesWithoutAnotherRecv(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	if err := a.Send(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	m, err := b.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, "pong:"+string(m.Raw())); err != nil {
		t.Fatal(err)
	}
	r, err := a.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Raw()); got != `"pong:\"ping\""` {
		t.Fatalf("reply %s", got)
	}
	a.Close()
	select {
	case <-b.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after the peer closed, with nobody in Recv")
	}
}

// A Recv blocked in its own read returns when its context ends, and the
// channel goes on: later messages are received.
func TestRecvReadingItselfHonoursContext(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	for i := range 3 {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := b.Recv(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: Recv = %v; want context.DeadlineExceeded", i, err)
		}
		want := fmt.Sprintf("after %d", i)
		if err := a.Send(ctx, want); err != nil {
			t.Fatal(err)
		}
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := m.Decode(&got); err != nil || got != want {
			t.Fatalf("round %d: got %q, %v; want %q", i, got, err, want)
		}
	}
}

// The background reader takes the token back when Recv stops; a later Recv
// takes it again.
func TestRecvAfterAPauseTakesTheTokenBack(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	for i := range 3 {
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := m.Decode(&got); err != nil || got != i {
			t.Fatalf("got %d, %v; want %d", got, err, i)
		}
		time.Sleep(50 * time.Millisecond) // longer than the token stays lent
	}
}

// Several goroutines in Recv at once share the messages: each arrives
// exactly once and none is stuck.
func TestConcurrentReceivers(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	const n = 20000
	go func() {
		for i := range n {
			if err := a.Send(ctx, i); err != nil {
				return
			}
		}
	}()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	seen := make([]int, n)
	count := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := b.Recv(rctx)
				if err != nil {
					return
				}
				var i int
				if err := m.Decode(&i); err != nil || i < 0 || i >= n {
					t.Errorf("message %s: %v", m.Raw(), err)
					return
				}
				mu.Lock()
				seen[i]++
				count++
				if count == n {
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("timed out with %d of %d messages", count, n)
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("message %d received %d times", i, c)
		}
	}
}

// Replies sent from a Recv loop to a peer that is not reading fill the
// socket: what a Recv's own write cannot place goes to the writer, in
// order, and a full send queue does not wait for a Recv that will not come.
func TestRepliesToASlowPeerKeepOrder(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	const n = 3000
	var req strings.Builder
	for i := range n {
		fmt.Fprintf(&req, "%d\n", i)
	}
	go raw.Write([]byte(req.String()))
	pad := strings.Repeat("x", 4000)
	errc := make(chan error, 1)
	go func() {
		for range n {
			m, err := ch.Recv(ctx)
			if err != nil {
				errc <- err
				return
			}
			var i int
			if err := m.Decode(&i); err != nil {
				errc <- err
				return
			}
			if err := ch.Send(ctx, fmt.Sprintf("%d %s", i, pad)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	time.Sleep(50 * time.Millisecond) // let the socket and the queue fill
	sc := bufio.NewScanner(raw)
	sc.Buffer(nil, 1<<20)
	for i := range n {
		if !sc.Scan() {
			t.Fatalf("reply %d: %v", i, sc.Err())
		}
		want := fmt.Sprintf(`"%d %s"`, i, pad)
		if sc.Text() != want {
			t.Fatalf("reply %d: got %.40q…", i, sc.Text())
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A handle sent by a goroutine that has stopped calling Recv is still
// acknowledged: the channel reads the ACK itself.
func TestSendHandleWithNobodyInRecv(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	if err := b.Send(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recv(ctx); err != nil { // a's token is now lent to Recv
		t.Fatal(err)
	}
	x, y := socketPair(t)
	defer y.Close()
	got := make(chan error, 1)
	go func() {
		m, err := b.Recv(ctx)
		if err == nil {
			if h := m.Handle(); h == nil {
				err = errors.New("message without its handle")
			} else {
				h.Close()
			}
		}
		got <- err
	}()
	if err := a.SendHandle(ctx, "sock", x, nil); err != nil {
		t.Fatalf("SendHandle: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// A reply sent while received messages still wait in the queue is held for
// the next Recv; if that Recv never comes, the reply still leaves.
func TestDeferredReplyLeavesWithoutAnotherRecv(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	if _, err := raw.Write([]byte("1\n2\n")); err != nil {
		t.Fatal(err)
	}
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Raw()) != "1" {
		t.Fatalf("first message %s", m.Raw())
	}
	if err := ch.Send(ctx, "reply"); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(raw)
	if !sc.Scan() {
		t.Fatalf("no reply: %v", sc.Err())
	}
	if sc.Text() != `"reply"` {
		t.Fatalf("reply %q", sc.Text())
	}
}

// A handle sent between deferred replies keeps its place: the replies
// queued before it leave before it, those after it after the ACK.
func TestDeferredRepliesAroundAHandleKeepOrder(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	// Two requests in one batch, so replies to the first are deferred (the
	// second is still queued).
	for _, s := range []string{"req1", "req2"} {
		if err := a.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	_, server, _ := tcpPair(t)
	if err := b.Send(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	done := sendHandleAsync(ctx, b, "handle", server, nil)
	got := make([]string, 0, 3)
	for len(got) < 3 {
		m, err := a.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := m.Decode(&s); err != nil {
			t.Fatal(err)
		}
		if h := m.Handle(); h != nil {
			h.Close()
			s += "+fd"
		}
		got = append(got, s)
		if len(got) == 2 {
			if err := <-done; err != nil {
				t.Fatalf("SendHandle: %v", err)
			}
			if err := b.Send(ctx, "after"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{"before", "handle+fd", "after"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("order %q; want %q", got, want)
	}
	// The second request is still there for b.
	m, err := b.Recv(ctx)
	if err != nil || string(m.Raw()) != `"req2"` {
		t.Fatalf("b's second message %v, %v", m, err)
	}
}
