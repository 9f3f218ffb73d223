package nodeipc_test

// Micro-benchmarks of the library's hot paths, for every message shape of the
// benchmark suite (interop/bench): a regression shows as ns/op, B/op and
// allocs/op.
//
//	go test -run '^$' -bench . -benchmem ./nodeipc/
//	go test -run '^$' -bench . -benchtime=1x ./nodeipc/   # CI: run each once
//
// Encode is Send into a sink (encoding, queueing, the writer's writes);
// Decode is Message.Decode into a typed struct and into any; Framing is the
// reader turning a stream of lines into messages for Recv; WritePath is
// Send on one end of a Pipe to Recv on the other.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"nodeipc.dev/nodeipc"
)

// benchMsg is the envelope of the small and large shapes.
type benchMsg struct {
	ID      int    `json:"id"`
	Op      string `json:"op"`
	Payload string `json:"payload"`
}

// benchMedium is the ~1 KB nested shape.
type benchMedium struct {
	ID   int    `json:"id"`
	Op   string `json:"op"`
	User struct {
		ID      int      `json:"id"`
		Name    string   `json:"name"`
		Email   string   `json:"email"`
		Active  bool     `json:"active"`
		Roles   []string `json:"roles"`
		Address struct {
			Street  string `json:"street"`
			City    string `json:"city"`
			Zip     string `json:"zip"`
			Country string `json:"country"`
		} `json:"address"`
	} `json:"user"`
	Items []struct {
		SKU   string   `json:"sku"`
		Name  string   `json:"name"`
		Qty   int      `json:"qty"`
		Price float64  `json:"price"`
		Attrs []string `json:"attrs"`
	} `json:"items"`
	Tags []string `json:"tags"`
	Meta struct {
		Trace   string  `json:"trace"`
		Created string  `json:"created"`
		Retries int     `json:"retries"`
		Score   float64 `json:"score"`
		Source  string  `json:"source"`
	} `json:"meta"`
}

// mediumJSON is the medium shape's JSON text (978 bytes), as in the suite.
const mediumJSON = `{"id":1,"op":"echo","user":{"id":4242,"name":"Ada Lovelace","email":"ada@example.com","active":true,"roles":["admin","editor","viewer"],"address":{"street":"12 Analytical Engine Road","city":"London","zip":"NW1 6XE","country":"GB"}},"items":[{"sku":"SKU-AAAAAA","name":"Widget number 1 deluxe edition","qty":1,"price":12.5,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-BBBBBB","name":"Widget number 2 deluxe edition","qty":2,"price":25,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-CCCCCC","name":"Widget number 3 deluxe edition","qty":3,"price":37.5,"attrs":["color:blue","size:m","stock:yes"]},{"sku":"SKU-DDDDDD","name":"Widget number 4 deluxe edition","qty":4,"price":50,"attrs":["color:blue","size:m","stock:yes"]}],"tags":["priority","express","gift","fragile","insured"],"meta":{"trace":"0af7651916cd43dd8448eb211c80319c","created":"2026-11-27T12:00:00.000Z","retries":2,"score":0.875,"source":"benchmark-suite/medium-shape/nested-object-example1"}}`

// benchShape is one message shape: its Go value, its JSON text, and a fresh
// typed value to decode into.
type benchShape struct {
	name  string
	value any
	json  []byte
	typed func() any
}

// benchShapes returns the small, medium and large shapes.
func benchShapes(b *testing.B) []benchShape {
	b.Helper()
	var medium benchMedium
	if err := json.Unmarshal([]byte(mediumJSON), &medium); err != nil {
		b.Fatal(err)
	}
	shapes := []benchShape{
		{name: "small", value: &benchMsg{ID: 1, Op: "echo", Payload: strings.Repeat("x", 20)}, typed: func() any { return new(benchMsg) }},
		{name: "medium", value: &medium, typed: func() any { return new(benchMedium) }},
		{name: "large", value: &benchMsg{ID: 1, Op: "echo", Payload: strings.Repeat("x", 1<<20)}, typed: func() any { return new(benchMsg) }},
	}
	for i := range shapes {
		text, err := json.Marshal(shapes[i].value)
		if err != nil {
			b.Fatal(err)
		}
		shapes[i].json = text
	}
	return shapes
}

// sinkConn discards writes; reads block until Close.
type sinkConn struct {
	once   sync.Once
	closed chan struct{}
}

func newSinkConn() *sinkConn { return &sinkConn{closed: make(chan struct{})} }

func (s *sinkConn) Read(p []byte) (int, error) {
	<-s.closed
	return 0, net.ErrClosed
}

func (s *sinkConn) Write(p []byte) (int, error) { return len(p), nil }

func (s *sinkConn) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// streamConn is an endless stream of one JSON line; writes are discarded.
type streamConn struct {
	block  []byte
	off    int
	mu     sync.Mutex
	closed bool
}

func newStreamConn(line []byte) *streamConn {
	var block []byte
	for len(block) < 256<<10 {
		block = append(block, line...)
		block = append(block, '\n')
	}
	return &streamConn{block: block}
}

func (s *streamConn) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.EOF
	}
	n := copy(p, s.block[s.off:])
	s.off = (s.off + n) % len(s.block)
	return n, nil
}

func (s *streamConn) Write(p []byte) (int, error) { return len(p), nil }

func (s *streamConn) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

func BenchmarkEncode(b *testing.B) {
	for _, sh := range benchShapes(b) {
		b.Run(sh.name, func(b *testing.B) {
			ch, err := nodeipc.NewChannel(newSinkConn(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ch.Close()
			ctx := context.Background()
			b.SetBytes(int64(len(sh.json) + 1))
			b.ReportAllocs()
			for b.Loop() {
				if err := ch.Send(ctx, sh.value); err != nil {
					b.Fatal(err)
				}
			}
			if err := ch.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, sh := range benchShapes(b) {
		m := recvOne(b, sh.json)
		b.Run(sh.name+"/struct", func(b *testing.B) {
			b.SetBytes(int64(len(sh.json)))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Decode(sh.typed()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sh.name+"/any", func(b *testing.B) {
			b.SetBytes(int64(len(sh.json)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := m.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// recvOne sends text through a Pipe and returns the received Message.
func recvOne(b *testing.B, text []byte) *nodeipc.Message {
	b.Helper()
	x, y := pipe(b, nil)
	ctx := context.Background()
	if err := x.Send(ctx, json.RawMessage(text)); err != nil {
		b.Fatal(err)
	}
	m, err := y.Recv(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkFraming(b *testing.B) {
	for _, sh := range benchShapes(b) {
		b.Run(sh.name, func(b *testing.B) { benchFraming(b, sh.json, false) })
		// The same with every message released after use.
		b.Run(sh.name+"/release", func(b *testing.B) { benchFraming(b, sh.json, true) })
	}
}

// benchFraming receives messages of one shape from an endless stream,
// releasing each if release is set.
func benchFraming(b *testing.B, text []byte, release bool) {
	ch, err := nodeipc.NewChannel(newStreamConn(text), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	ctx := context.Background()
	b.SetBytes(int64(len(text) + 1))
	b.ReportAllocs()
	for b.Loop() {
		m, err := ch.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if release {
			m.Release()
		}
	}
}

func BenchmarkWritePath(b *testing.B) {
	for _, sh := range benchShapes(b) {
		b.Run(sh.name, func(b *testing.B) {
			x, y := pipe(b, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.SetBytes(int64(len(sh.json) + 1))
			b.ReportAllocs()
			n := b.N
			errc := make(chan error, 1)
			b.ResetTimer()
			go func() {
				for range n {
					if err := x.Send(ctx, sh.value); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for range n {
				if _, err := y.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPipeline is the suite's pipelined test in one process: one
// goroutine keeps 64 pings in flight and sends a new one per reply, another
// decodes each ping into a struct and sends it back, both with Recv, Decode
// and Send, over a socketpair. ns/op is per request.
func BenchmarkPipeline(b *testing.B) {
	x, y := pipe(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			m, err := y.Recv(ctx)
			if err != nil {
				return
			}
			var p benchMsg
			if m.Decode(&p) != nil || y.Send(ctx, &p) != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	n := b.N
	sent := 0
	for ; sent < min(64, n); sent++ {
		if err := x.Send(ctx, &benchMsg{ID: sent, Op: "echo", Payload: "x"}); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		m, err := x.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var p benchMsg
		if err := m.Decode(&p); err != nil {
			b.Fatal(err)
		}
		if sent < n {
			if err := x.Send(ctx, &benchMsg{ID: sent, Op: "echo", Payload: "x"}); err != nil {
				b.Fatal(err)
			}
			sent++
		}
	}
}
