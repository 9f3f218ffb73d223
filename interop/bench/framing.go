package main

import (
	"context"
	"runtime"
	"sync/atomic"

	"nodeipc.dev/interop/bench/internal/shape"
	"nodeipc.dev/nodeipc"
)

// framingResult is the library's allocation cost per message on the
// receiving side: framing alone (Recv), and the typed decode on top.
type framingResult struct {
	Shape string `json:"shape"`
	// Messages is how many messages were received.
	Messages int `json:"messages"`
	// WireBytes is the size of one message on the wire.
	WireBytes int `json:"wire_bytes"`
	// RecvAllocs and RecvBytes are the heap allocations per message of Recv
	// alone; RecvBytes includes the copy of the message's own bytes.
	RecvAllocs float64 `json:"recv_allocs_per_msg"`
	RecvBytes  float64 `json:"recv_bytes_per_msg"`
	// DecodeAllocs is what Decode into the typed struct adds per message.
	DecodeAllocs float64 `json:"decode_allocs_per_msg"`
}

// lineConn is an endless stream of one JSON line, for the reader to frame.
// Writes are discarded.
type lineConn struct {
	block  []byte // many copies of the line
	off    int
	closed atomic.Bool
}

// newLineConn returns a stream of line repeated forever.
func newLineConn(line []byte) *lineConn {
	var block []byte
	for len(block) < 256<<10 {
		block = append(block, line...)
	}
	return &lineConn{block: block}
}

// Read copies the next bytes of the stream into p.
func (c *lineConn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, errClosedConn
	}
	n := copy(p, c.block[c.off:])
	c.off = (c.off + n) % len(c.block)
	return n, nil
}

// Write discards p.
func (c *lineConn) Write(p []byte) (int, error) { return len(p), nil }

// Close makes later reads fail.
func (c *lineConn) Close() error {
	c.closed.Store(true)
	return nil
}

// closedConnError is what a closed lineConn returns.
type closedConnError struct{}

func (closedConnError) Error() string { return "use of closed connection" }

// errClosedConn is the error of a closed lineConn.
var errClosedConn error = closedConnError{}

// measureFraming receives messages of each shape from an endless stream in
// this process and counts heap allocations per message. The reader may run
// up to one receive queue (8,192 messages) ahead, which the message counts
// make negligible.
func measureFraming(quick bool) []framingResult {
	var out []framingResult
	for _, sh := range shape.Sizes {
		n := map[string]int{shape.Small: 400000, shape.MediumName: 100000, shape.Large: 200}[sh]
		if quick {
			n /= 10
		}
		line := append(shape.JSON(sh), '\n')
		r := framingResult{Shape: sh, Messages: n, WireBytes: len(line)}
		r.RecvAllocs, r.RecvBytes = recvAllocs(line, n, nil)
		withDecode, _ := recvAllocs(line, n, func(m *nodeipc.Message) {
			if sh == shape.MediumName {
				var v shape.Medium
				_ = m.Decode(&v)
			} else {
				var v shape.Msg
				_ = m.Decode(&v)
			}
		})
		r.DecodeAllocs = withDecode - r.RecvAllocs
		out = append(out, r)
	}
	return out
}

// recvAllocs returns the allocations and bytes per message of receiving n
// messages (after a warm-up), calling f on each if it is not nil.
func recvAllocs(line []byte, n int, f func(*nodeipc.Message)) (allocs, bytes float64) {
	ch, err := nodeipc.NewChannel(newLineConn(line), nil)
	if err != nil {
		return 0, 0
	}
	defer ch.Close()
	ctx := context.Background()
	recv := func(k int) bool {
		for range k {
			m, err := ch.Recv(ctx)
			if err != nil {
				return false
			}
			if f != nil {
				f(m)
			}
		}
		return true
	}
	if !recv(min(n/10+1, 20000)) {
		return 0, 0
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if !recv(n) {
		return 0, 0
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}
