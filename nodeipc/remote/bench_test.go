package remote_test

import (
	"context"
	"testing"

	"nodeipc.dev/nodeipc/pool"
)

// BenchmarkDo compares calls through a local pool with calls through an
// agent over NATS, everything in this process but the workers (2 in each
// case). interop/bench/remotebench measures the same with the agents and
// the server in processes of their own, CPU time included.
func BenchmarkDo(b *testing.B) {
	for _, name := range []string{"local", "remote"} {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, nil)
			e.log = "" // the workers log nothing
			var do func(context.Context, *pool.Call) error
			if name == "local" {
				p, err := pool.New(e.poolOptions(2))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { p.Close() })
				do = p.Do
			} else {
				e.agent("bench", "agent-a", 2, nil)
				do = e.client("bench", nil).Do
			}
			ctx := context.Background()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var w struct{ Seq int64 }
					if err := do(ctx, &pool.Call{Method: "whoami", Result: &w}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
