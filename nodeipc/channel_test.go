package nodeipc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"nodeipc.dev/nodeipc"
)

// testCtx is a context bounded by the test's deadline, so a hang fails the
// test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pipe returns both ends of nodeipc.Pipe(opts), closed when the test or
// benchmark ends.
func pipe(t testing.TB, opts *nodeipc.Options) (*nodeipc.Channel, *nodeipc.Channel) {
	t.Helper()
	a, b, err := nodeipc.Pipe(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// rawPeer returns a Channel on one end of connPair and the other end, a
// raw peer the test drives by hand, like a hostile or foreign
// implementation would.
func rawPeer(t *testing.T, opts *nodeipc.Options) (*nodeipc.Channel, rawConn) {
	t.Helper()
	a, b := connPair(t)
	ch, err := nodeipc.NewChannel(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close(); b.Close() })
	return ch, b
}

func TestSendEncodesLikeJSONStringify(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	type inner struct {
		B []int `json:"b"`
	}
	tests := []struct {
		v    any
		want string
	}{
		{"str", `"str"`},
		{42, `42`},
		{true, `true`},
		{nil, `null`},
		{map[string]int{"a": 1}, `{"a":1}`},
		{[]int{1, 2, 3}, `[1,2,3]`},
		{"<a&b>", `"<a&b>"`},        // no HTML escaping
		{"é\u2028", "\"é\\u2028\""}, // valid for JSON.parse either way
		{json.RawMessage(`{"keep" : [1, 2]}`), `{"keep" : [1, 2]}`}, // untouched
		{json.RawMessage("{\n\"a\": 1\n}"), `{"a":1}`},              // compacted only to stay one line
		{struct {
			X inner `json:"x"`
		}{inner{[]int{7}}}, `{"x":{"b":[7]}}`},
		{1e21, `1e+21`},
	}
	for _, tt := range tests {
		if err := ch.Send(ctx, tt.v); err != nil {
			t.Fatalf("Send(%#v) = %v", tt.v, err)
		}
	}
	sc := bufio.NewScanner(raw)
	for _, tt := range tests {
		if !sc.Scan() {
			t.Fatalf("missing line for %#v: %v", tt.v, sc.Err())
		}
		if got := sc.Text(); got != tt.want {
			t.Errorf("Send(%#v) wrote %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestSendNaNAndInfinityAsNull(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	v := map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "list": []float64{1, math.Inf(-1)}}
	if err := ch.Send(ctx, v); err != nil {
		t.Fatalf("Send = %v", err)
	}
	line, err := bufio.NewReader(raw).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"inf":null,"list":[1,null],"nan":null}` + "\n"; line != want {
		t.Errorf("wrote %q; want %q", line, want)
	}
}

func TestSendRefusesWhatNodeCannotRead(t *testing.T) {
	ch, _ := rawPeer(t, nil)
	ctx := testCtx(t)
	for _, v := range []any{
		map[string]string{"cmd": "NODE_HANDLE_ACK"},
		json.RawMessage(`{"cmd":"NODE_CLUSTER"}`),
		json.RawMessage(`{"c\u006dd":"NODE_X"}`),
		json.RawMessage(`{bad`),
		json.RawMessage(``),
		json.RawMessage("\"\xff\""),
		make(chan int),
	} {
		if err := ch.Send(ctx, v); !errors.Is(err, nodeipc.ErrInvalidMessage) {
			t.Errorf("Send(%#v) = %v; want ErrInvalidMessage", v, err)
		}
	}
	// Not internal by Node's rule: exactly "NODE_", or another case.
	for _, v := range []any{map[string]string{"cmd": "NODE_"}, map[string]string{"cmd": "node_x"}, map[string]string{"Cmd": "NODE_X"}} {
		if err := ch.Send(ctx, v); err != nil {
			t.Errorf("Send(%v) = %v; want nil", v, err)
		}
	}
}

func TestOrderKeptOver100kMessages(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	const n = 100_000
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if err := a.Send(ctx, i); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range n {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv #%d: %v", i, err)
		}
		var got int
		if err := m.Decode(&got); err != nil || got != i {
			t.Fatalf("message #%d = %s (%v)", i, m.Raw(), err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSendersKeepMessagesIntact(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	const senders, each = 8, 1000
	payload := strings.Repeat("x", 1000)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := a.Send(ctx, map[string]any{"s": s, "i": i, "p": payload}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, senders)
	for range senders * each {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			S, I int
			P    string
		}
		if err := m.Decode(&v); err != nil || v.P != payload {
			t.Fatalf("damaged message %.80q: %v", m.Raw(), err)
		}
		if v.I != next[v.S] {
			t.Fatalf("sender %d: got #%d, want #%d", v.S, v.I, next[v.S])
		}
		next[v.S]++
	}
	wg.Wait()
}

// gatedConn counts writes and holds the first one until released.
type gatedConn struct {
	io.ReadWriteCloser
	mu     sync.Mutex
	writes int
	gate   chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	g.writes++
	first := g.writes == 1
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	return g.ReadWriteCloser.Write(p)
}

func TestBurstIsCoalescedLoneMessageLeavesAtOnce(t *testing.T) {
	a, b := connPair(t)
	g := &gatedConn{ReadWriteCloser: a, gate: make(chan struct{})}
	ch, err := nodeipc.NewChannel(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	defer b.Close()
	ctx := testCtx(t)
	peer, err := nodeipc.NewChannel(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	// The first message is written at once (the write is held in the gate);
	// the 10,000 sent meanwhile must leave together afterwards.
	const n = 10_000
	for i := range n {
		if err := ch.Send(ctx, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	close(g.gate)
	if err := ch.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := peer.Recv(ctx); err != nil {
			t.Fatalf("Recv #%d: %v", i, err)
		}
	}
	g.mu.Lock()
	writes := g.writes
	g.mu.Unlock()
	if writes > 3 {
		t.Errorf("%d messages sent in a burst took %d writes; want at most 3", n, writes)
	}
	// A lone message leaves without Flush: the peer receives it.
	if err := ch.Send(ctx, "alone"); err != nil {
		t.Fatal(err)
	}
	m, err := peer.Recv(ctx)
	if err != nil || string(m.Raw()) != `"alone"` {
		t.Fatalf("Recv = %v, %v; want \"alone\"", m, err)
	}
}

func TestReaderToleratesCRLFAndWhitespace(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	raw.Write([]byte("{\"a\":1}\r\n  [2]  \n\t\"x\"\r\n"))
	for _, want := range []string{`{"a":1}`, `[2]`, `"x"`} {
		m, err := ch.Recv(ctx)
		if err != nil || string(m.Raw()) != want {
			t.Fatalf("Recv = %v, %v; want %s", m, err, want)
		}
	}
}

func TestBadInputIsReportedAndSkipped(t *testing.T) {
	ch, raw := rawPeer(t, &nodeipc.Options{MaxMessageSize: 100})
	ctx := testCtx(t)
	input := "" +
		"{\"ok\":1}\n" + // offset 0
		"not json\n" + // offset 9
		"\n" + // offset 18: empty line
		"\"\xff\xfe\"\n" + // offset 19: invalid UTF-8
		"\"" + strings.Repeat("a", 200) + "\"\n" + // offset 24: over the limit
		"{\"ok\":2}\n"
	if _, err := raw.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	type want struct {
		msg    string
		err    error
		offset int64
	}
	for _, w := range []want{
		{msg: `{"ok":1}`},
		{err: nodeipc.ErrInvalidMessage, offset: 9},
		{err: nodeipc.ErrInvalidMessage, offset: 18},
		{err: nodeipc.ErrInvalidMessage, offset: 19},
		{err: nodeipc.ErrMessageTooLarge, offset: 24},
		{msg: `{"ok":2}`},
	} {
		m, err := ch.Recv(ctx)
		if w.err == nil {
			if err != nil || string(m.Raw()) != w.msg {
				t.Fatalf("Recv = %v, %v; want %s", m, err, w.msg)
			}
			continue
		}
		var perr *nodeipc.ProtocolError
		if !errors.As(err, &perr) || !errors.Is(err, w.err) {
			t.Fatalf("Recv error = %v; want a ProtocolError wrapping %v", err, w.err)
		}
		if perr.Offset != w.offset {
			t.Errorf("%v: offset %d; want %d", err, perr.Offset, w.offset)
		}
	}
	// The channel still works both ways.
	if err := ch.Send(ctx, "still here"); err != nil {
		t.Fatal(err)
	}
}

func TestOversizedLineAcrossReadsIsSkipped(t *testing.T) {
	ch, raw := rawPeer(t, &nodeipc.Options{MaxMessageSize: 1000})
	ctx := testCtx(t)
	go func() {
		raw.Write([]byte(`"`))
		for range 100 { // 1 MB in pieces, never buffered whole
			raw.Write([]byte(strings.Repeat("z", 10_000)))
		}
		raw.Write([]byte("\"\n[1]\n"))
	}()
	_, err := ch.Recv(ctx)
	if !errors.Is(err, nodeipc.ErrMessageTooLarge) {
		t.Fatalf("Recv = %v; want ErrMessageTooLarge", err)
	}
	m, err := ch.Recv(ctx)
	if err != nil || string(m.Raw()) != "[1]" {
		t.Fatalf("Recv = %v, %v; want [1]", m, err)
	}
}

func TestHalfLineThenEOF(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	raw.Write([]byte("[1]\n{\"half\":"))
	raw.Close()
	m, err := ch.Recv(ctx)
	if err != nil || string(m.Raw()) != "[1]" {
		t.Fatalf("Recv = %v, %v; want [1]", m, err)
	}
	_, err = ch.Recv(ctx)
	var perr *nodeipc.ProtocolError
	if !errors.As(err, &perr) || !errors.Is(err, io.ErrUnexpectedEOF) || perr.Offset != 4 {
		t.Fatalf("Recv = %v; want a ProtocolError at offset 4 wrapping io.ErrUnexpectedEOF", err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Recv = %v; want ErrDisconnected", err)
	}
	<-ch.Done()
	if err := ch.Send(ctx, 1); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Send after EOF = %v; want ErrDisconnected", err)
	}
}

func TestMultiByteCharactersSplitAcrossReads(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	msg := `"` + strings.Repeat("ß", 200_000) + "\"\n"
	go func() {
		b := []byte(msg)
		for len(b) > 0 { // odd-sized pieces split the 2-byte characters
			n := min(len(b), 4097)
			raw.Write(b[:n])
			b = b[n:]
		}
	}()
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := m.Decode(&s); err != nil || s != strings.Repeat("ß", 200_000) {
		t.Fatalf("Decode = %d bytes, %v", len(s), err)
	}
}

func TestInternalMessagesNeverReachRecv(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	raw.Write([]byte(`{"cmd":"NODE_SOMETHING","x":1}` + "\n" +
		`{"cmd":"NODE_"}` + "\n" +
		`{"c\u006dd":"NODE_ESCAPED"}` + "\n" +
		`{"cmd":"fooNODE_"}` + "\n" +
		`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":{"a":1}}` + "\n" +
		`{"cmd":"NODE_ZZ","cmd":"user"}` + "\n" +
		`"last"` + "\n"))
	for _, want := range []string{`{"cmd":"NODE_"}`, `{"cmd":"fooNODE_"}`, "error", `{"cmd":"NODE_ZZ","cmd":"user"}`, `"last"`} {
		m, err := ch.Recv(ctx)
		if want == "error" {
			// The NODE_HANDLE came without a file descriptor: reported
			// (and answered with a NACK below), never delivered.
			if !errors.Is(err, nodeipc.ErrInvalidHandle) {
				t.Fatalf("Recv = %v, %v; want ErrInvalidHandle", m, err)
			}
			continue
		}
		if err != nil || string(m.Raw()) != want {
			t.Fatalf("Recv = %v, %v; want %s", m, err, want)
		}
	}
	// A NODE_HANDLE that brought no fd is answered with a NACK, so a Node
	// sender's queue does not stall.
	line, err := bufio.NewReader(raw).ReadString('\n')
	if err != nil || line != `{"cmd":"NODE_HANDLE_NACK"}`+"\n" {
		t.Fatalf("peer read %q, %v; want a NACK", line, err)
	}
}

func TestDisconnectFlushesThenEOF(t *testing.T) {
	ch, raw := rawPeer(t, &nodeipc.Options{SendQueueSize: 1 << 20})
	ctx := testCtx(t)
	const n = 20_000
	big := strings.Repeat("y", 100)
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := ch.Send(ctx, map[string]any{"i": i, "p": big}); err != nil {
				done <- err
				return
			}
		}
		done <- ch.Disconnect(ctx)
	}()
	sc := bufio.NewScanner(raw)
	count := 0
	for sc.Scan() {
		count++
	}
	if err := <-done; err != nil {
		t.Fatalf("Disconnect = %v", err)
	}
	if count != n {
		t.Fatalf("peer read %d messages before EOF; want %d", count, n)
	}
	if err := ch.Send(ctx, 1); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Disconnect = %v; want net.ErrClosed", err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv after Disconnect = %v; want net.ErrClosed", err)
	}
	if err1, err2 := ch.Close(), ch.Close(); err1 != nil || err2 != nil {
		t.Errorf("Close after Disconnect = %v, %v; want nil", err1, err2)
	}
}

func TestPeerDisconnectDeliversEverythingFirst(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	for i := range 1000 {
		a.Send(ctx, i)
	}
	a.Close()
	for i := range 1000 {
		m, err := b.Recv(ctx)
		if err != nil || string(m.Raw()) != fmt.Sprint(i) {
			t.Fatalf("Recv #%d = %v, %v", i, m, err)
		}
	}
	if _, err := b.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Recv = %v; want ErrDisconnected", err)
	}
}

func TestSendBlocksOnSlowPeerUntilContextDone(t *testing.T) {
	ch, raw := rawPeer(t, &nodeipc.Options{SendQueueSize: 64 << 10, CloseTimeout: -1})
	_ = raw // never reads
	big := strings.Repeat("q", 32<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var err error
	for i := 0; i < 10_000 && err == nil; i++ { // far more than the socket buffers hold
		err = ch.Send(ctx, big)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v; want context.DeadlineExceeded", err)
	}
}

func TestCloseUnblocksRecvAndIsIdempotent(t *testing.T) {
	a, _ := pipe(t, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Recv(context.Background())
		errc <- err
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); a.Close() }()
	}
	wg.Wait()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Recv = %v; want net.ErrClosed", err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
}

func TestRecvHonoursContext(t *testing.T) {
	a, _ := pipe(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv = %v; want context.Canceled", err)
	}
}

func TestLargeMessagesBothWays(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	big := strings.Repeat("0123456789", 800_000) // 8 MB (interop/ sends 50 MB)
	go a.Send(ctx, big)
	m, err := b.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Raw()) != len(big)+2 {
		t.Fatalf("received %d bytes; want %d", len(m.Raw()), len(big)+2)
	}
	var s string
	if err := m.Decode(&s); err != nil || s != big {
		t.Fatalf("Decode: %v", err)
	}
}

func TestCloseWriteLetsThePeerAnswer(t *testing.T) {
	switch runtime.GOOS {
	case "windows":
		t.Skip("a named pipe cannot be half-closed (TestCloseWriteIsUnsupportedOnAPipe)")
	case "js", "wasip1":
		t.Skip("the in-memory net.Pipe the tests run on here cannot be half-closed")
	}
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	for i := range 100 {
		a.Send(ctx, i)
	}
	if err := a.CloseWrite(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, "late"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after CloseWrite = %v; want net.ErrClosed", err)
	}
	// b reads everything, sees the end, and can still answer.
	var got []*nodeipc.Message
	for {
		m, err := b.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 100 {
		t.Fatalf("b received %d messages; want 100", len(got))
	}
	for _, m := range got {
		if err := b.Send(ctx, m); err != nil { // forwarded as it arrived
			t.Fatalf("Send after the peer's CloseWrite = %v", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		m, err := a.Recv(ctx)
		if err != nil || string(m.Raw()) != fmt.Sprint(i) {
			t.Fatalf("reply #%d = %v, %v", i, m, err)
		}
	}
	if _, err := a.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Recv = %v; want ErrDisconnected", err)
	}
}

func TestSendForwardsAMessageUntouched(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	raw.Write([]byte(`{ "b" : 2, "a" : [1,  2] }` + "\n"))
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(raw).ReadString('\n')
	if err != nil || line != `{ "b" : 2, "a" : [1,  2] }`+"\n" {
		t.Fatalf("forwarded %q, %v", line, err)
	}
}
