package nodeipc_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"nodeipc.dev/nodeipc"
)

// A Go HTTP server as a worker of a Node cluster. The primary starts it
// with:
//
//	process.execPath = '/path/to/this/program';
//	cluster.setupPrimary({ exec: 'unused.js', execArgv: [] });
//	cluster.fork();
//
// Serve returns when the primary calls worker.disconnect().
func ExampleJoinCluster() {
	ctx := context.Background()
	w, err := nodeipc.JoinCluster(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	l, err := w.Listen(ctx, "tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	http.Serve(l, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "hello from worker %d\n", w.ID())
	}))
	<-w.Done()
}
