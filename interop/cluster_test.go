package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
)

// A Node cluster primary (pointed at this test binary) with two Go
// workers, and with a Go worker next to a Node worker, serves HTTP on one
// port in round-robin and in shared mode, and echoes UDP on one shared
// socket, and shuts down with worker.disconnect().
func TestNodeClusterWithGoWorkers(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		for _, mode := range []string{"rr", "none", "udp"} {
			for _, kinds := range []string{"go,go", "go,node"} {
				t.Run(mode+"-"+strings.ReplaceAll(kinds, ",", "-"), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, node, nodetest.JS("cluster/primary.js"), mode, kinds, os.Args[0])
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "ok ") {
						t.Fatalf("node cluster/primary.js %s %s: %v\nstdout: %s\nstderr: %s", mode, kinds, err, stdout.String(), stderr.String())
					}
					t.Log(strings.TrimSpace(stdout.String()))
				})
			}
		}
	})
}

// cluster-http is the whole user code of a Go cluster worker: join, listen,
// serve HTTP until the primary disconnects the worker.
var _ = nodetest.RegisterHelper("cluster-http", func() int {
	ctx := context.Background()
	w, err := nodeipc.JoinCluster(ctx, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "JoinCluster:", err)
		return 1
	}
	if _, ok := os.LookupEnv("NODE_UNIQUE_ID"); ok {
		fmt.Fprintln(os.Stderr, "NODE_UNIQUE_ID is still set")
		return 1
	}
	if os.Getenv("CLUSTER_PROTO") == "udp" {
		pc, err := w.ListenPacket(ctx, "udp4", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "ListenPacket:", err)
			return 1
		}
		buf := make([]byte, 1500)
		for { // until the primary disconnects the worker
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			pc.WriteTo([]byte(fmt.Sprintf("worker %d go:%s", w.ID(), buf[:n])), from)
		}
		<-w.Done()
		return 0
	}
	l, err := w.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "Listen:", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "worker %d go", w.ID())
	})}
	srv.Serve(l) // returns when the primary disconnects the worker
	<-w.Done()
	return 0
})
