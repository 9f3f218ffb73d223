package remote_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os/exec"
	"time"

	"github.com/nats-io/nats.go"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
	"nodeipc.dev/nodeipc/remote"
)

// An agent on each host serves the pool "thumbs" with its local workers.
func ExampleNewAgent() {
	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	agent, err := remote.NewAgent(nc, "thumbs", pool.Options{
		Size:    4,
		Command: func(int) *exec.Cmd { return nodeipc.NodeCommand("", nil, "worker.js") },
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	// ... until it is time to stop: let running calls end for up to 30s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent.Shutdown(ctx)
}

// A client submits calls to the pool's agents, wherever they run.
func ExampleClient_Do() {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	client, err := remote.NewClient(nc, "thumbs", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var thumb []byte
	err = client.Do(ctx, &pool.Call{
		Method:   "resize",
		Params:   []any{"https://example.com/cat.jpg", 200},
		Result:   &thumb,
		Progress: func(ev pool.Event) { fmt.Println("progress:", ev) },
	})
	var ce *pool.CallError
	var we *pool.WorkerError
	switch {
	case errors.Is(err, remote.ErrNoAgents):
		log.Fatal("no agent serves the pool")
	case errors.As(err, &ce):
		log.Fatalf("resize failed: %s", ce.Message)
	case errors.As(err, &we):
		log.Fatalf("%s died: %s", we.Worker, we.Reason) // errors.Is(err, remote.ErrAgentLost) if the agent did
	case err != nil:
		log.Fatal(err)
	}
}
