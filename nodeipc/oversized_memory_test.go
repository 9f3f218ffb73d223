//go:build unix

package nodeipc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"nodeipc.dev/nodeipc"
)

// A message the reader must refuse or skip costs memory bounded by the
// limit (or by the frame's own size, under the limit), not a multiple of
// it, and the channel does not keep that memory once the next message is
// delivered.
//
// The peak is bounded from above by what the process allocates from the
// moment the bad message starts to the delivery of the next one: the
// reader's buffers only grow while one message is in progress, and the
// runtime does not reuse the smaller ones for the larger (which is why
// their sum is what the process's resident size shows).
func TestBadMessageMemoryIsBounded(t *testing.T) {
	const limit = 16 << 20
	const mib = 1 << 20
	// Each case writes head, then body bytes of filler, then tail, which
	// holds the message "after".
	cases := []struct {
		name       string
		mode       nodeipc.Serialization
		limit      int
		head, tail []byte
		body       int
		want       error
		bound      int // most bytes the process may allocate meanwhile
	}{{
		// An unterminated json line past the limit: skipped as it arrives.
		name: "json line over the limit", mode: nodeipc.JSON, limit: limit,
		head: []byte(`"`), body: limit + limit/4, tail: []byte("\"\n\"after\"\n"),
		want: nodeipc.ErrMessageTooLarge, bound: limit * 3 / 2,
	}, {
		// An advanced frame under the limit, of garbage: buffered whole,
		// then refused.
		name: "advanced garbage frame under the limit", mode: nodeipc.Advanced, limit: 2 * limit,
		head: binary.BigEndian.AppendUint32(nil, 24*mib), body: 24 * mib, tail: v8Frame("after"),
		want: nodeipc.ErrInvalidMessage, bound: 24 * mib * 3 / 2,
	}, {
		// An advanced frame over the limit: never buffered.
		name: "advanced frame over the limit", mode: nodeipc.Advanced, limit: limit,
		head: binary.BigEndian.AppendUint32(nil, limit+limit/4), body: limit + limit/4, tail: v8Frame("after"),
		want: nodeipc.ErrMessageTooLarge, bound: limit / 8,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, raw := rawPeer(t, &nodeipc.Options{Serialization: tc.mode, MaxMessageSize: tc.limit})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			filler := bytes.Repeat([]byte("x"), 1<<20)

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			wrote := make(chan error, 1)
			go func() {
				_, err := raw.Write(tc.head)
				for n := tc.body; n > 0 && err == nil; n -= len(filler) {
					_, err = raw.Write(filler[:min(n, len(filler))])
				}
				if err == nil {
					_, err = raw.Write(tc.tail)
				}
				wrote <- err
			}()
			_, err := ch.Recv(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("first Recv: %v; want %v", err, tc.want)
			}
			m, err := ch.Recv(ctx)
			if err != nil {
				t.Fatalf("the message after: %v", err)
			}
			var s string
			if err := m.Decode(&s); err != nil || s != "after" {
				t.Fatalf("the message after: %q, %v", s, err)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			got := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %.1f MiB for a %.1f MiB message", float64(got)/mib, float64(tc.body)/mib)
			if got > uint64(tc.bound) {
				t.Errorf("allocated %.1f MiB for a %.1f MiB message (limit %.0f MiB); want at most %.1f MiB",
					float64(got)/mib, float64(tc.body)/mib, float64(tc.limit)/mib, float64(tc.bound)/mib)
			}

			// The channel, still open, holds no more than a read buffer.
			runtime.GC()
			runtime.ReadMemStats(&after)
			if held := int64(after.HeapInuse) - int64(before.HeapInuse); held > 4*mib {
				t.Errorf("after the bad message the heap holds %.1f MiB more than before; want the channel to release it",
					float64(held)/mib)
			}
			runtime.KeepAlive(filler)
		})
	}
}

// v8Frame is an advanced-mode frame holding the one-byte string s.
func v8Frame(s string) []byte {
	p := append([]byte{0xFF, 0x0F, '"', byte(len(s))}, s...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}
