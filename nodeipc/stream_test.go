package nodeipc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/nodeipc"
)

// A burst of messages of many sizes, sent faster than it is read, so that
// reads fill the buffer and the reader switches to its larger one and back
// (and messages straddle every read): every message arrives whole, in
// order, in both serializations.
func TestBurstOfMixedSizesArrivesWhole(t *testing.T) {
	for _, ser := range []nodeipc.Serialization{nodeipc.JSON, nodeipc.Advanced} {
		t.Run(fmt.Sprint(ser), func(t *testing.T) {
			a, b := pipe(t, &nodeipc.Options{Serialization: ser})
			ctx := testCtx(t)
			type msg struct {
				I    int    `json:"i"`
				Body string `json:"body"`
			}
			body := func(i int) string {
				return strings.Repeat(string(rune('a'+i%26)), (i*7919)%5000)
			}
			const n = 6000
			errc := make(chan error, 1)
			go func() {
				for i := range n {
					if err := a.Send(ctx, msg{I: i, Body: body(i)}); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := range n {
				m, err := b.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				var got msg
				if err := m.Decode(&got); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if i%3 == 0 {
					m.Release()
				}
				if got.I != i || got.Body != body(i) {
					t.Fatalf("message %d arrived as %d with a body of %d bytes; want %d bytes", i, got.I, len(got.Body), len(body(i)))
				}
				if i == n/2 {
					// Fall behind the sender for a moment, so that the next
					// reads fill the buffer whatever the speed of the machine.
					time.Sleep(20 * time.Millisecond)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}
