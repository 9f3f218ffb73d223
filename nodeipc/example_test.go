package nodeipc_test

import (
	"context"
	"fmt"
	"log"
	"math/big"
	"os"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// A Go program started by Node with fork() adopts the channel and answers
// every message until the parent disconnects.
func ExampleFromEnv() {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		log.Fatal(err) // ErrNoChannel when not started by Node
	}
	defer ch.Close()
	ctx := context.Background()
	for {
		msg, err := ch.Recv(ctx)
		if err != nil {
			return // ErrDisconnected when the parent disconnects
		}
		var req struct {
			ID int    `json:"id"`
			Op string `json:"op"`
		}
		if err := msg.Decode(&req); err != nil {
			continue
		}
		if err := ch.Send(ctx, map[string]any{"id": req.ID, "ok": true}); err != nil {
			return
		}
	}
}

// A Go program forks a Node script, as child_process.fork() would, sends it
// a message and waits for one answer.
func ExampleStart() {
	cmd := nodeipc.NodeCommand("", nil, "worker.js")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := ch.Send(ctx, map[string]string{"hello": "node"}); err != nil {
		log.Fatal(err)
	}
	msg, err := ch.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg)
	ch.Disconnect(ctx) // flush, then EOF: the child sees 'disconnect'
	cmd.Wait()
}

// Pipe connects two channels in one process, for tests.
func ExamplePipe() {
	a, b, err := nodeipc.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := context.Background()

	type point struct {
		X, Y float64
		Tag  string `json:"tag,omitempty"`
	}
	a.Send(ctx, point{X: 1, Y: 2.5, Tag: "<ß>"})
	msg, _ := b.Recv(ctx)
	fmt.Println(string(msg.Raw()))

	var p point
	msg.Decode(&p)
	fmt.Println(p.X+p.Y, p.Tag)
	// Output:
	// {"X":1,"Y":2.5,"tag":"<ß>"}
	// 3.5 <ß>
}

// With advanced serialization, JavaScript types that JSON loses keep their
// identity: a Map stays a Map, a BigInt a *big.Int, a Buffer a Buffer.
func ExamplePipe_advanced() {
	a, b, err := nodeipc.Pipe(&nodeipc.Options{Serialization: nodeipc.Advanced})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := context.Background()

	scores := &jsvalue.Map{}
	scores.Set("ada", 36)
	scores.Set("grace", 85)
	a.Send(ctx, map[string]any{
		"scores": scores,
		"total":  new(big.Int).Lsh(big.NewInt(1), 70),
		"blob":   jsvalue.Buffer("hi"),
	})

	msg, _ := b.Recv(ctx)
	var v map[string]any
	msg.Decode(&v)
	m := v["scores"].(*jsvalue.Map)
	grace, _ := m.Get("grace")
	fmt.Println(m.Len(), grace, v["total"], v["blob"])
	fmt.Println(msg) // the JSON view: tagged objects for what JSON lacks
	// Output:
	// 2 85 1180591620717411303424 [104 105]
	// {"blob":{"$js":"Buffer","base64":"aGk="},"scores":{"$js":"Map","entries":[["ada",36],["grace",85]]},"total":{"$js":"bigint","value":"1180591620717411303424"}}
}

// A receiver that decodes every message and drops it can give each
// message's memory back with Release, so that a busy channel does not
// allocate the bytes of every message anew.
func ExampleMessage_Release() {
	a, b, err := nodeipc.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	go func() {
		for i := range 3 {
			a.Send(ctx, map[string]int{"n": i})
		}
	}()
	sum := 0
	for range 3 {
		msg, err := b.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		var v struct{ N int }
		err = msg.Decode(&v)
		msg.Release() // v stays valid; msg and msg.Raw() may not be used again
		if err != nil {
			log.Fatal(err)
		}
		sum += v.N
	}
	fmt.Println(sum)
	// Output: 3
}

// A forwarder that is done with each message before its next Recv reads
// it with Value and releases it: in json mode the values of later messages
// reuse the memory, so a stream of messages costs no allocation for them.
func ExampleMessage_Value() {
	a, b, err := nodeipc.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	go func() {
		for _, to := range []string{"eu", "us", "eu"} {
			a.Send(ctx, map[string]any{"to": to, "body": "hi " + to})
		}
	}()
	for range 3 {
		msg, err := b.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		v, err := msg.Value()
		if err != nil {
			log.Fatal(err)
		}
		to, _ := v.(*jsvalue.Object).Get("to")
		if to == "eu" {
			fmt.Println(msg) // or send v on: it is valid until Release
		}
		msg.Release()
	}
	// Output:
	// {"body":"hi eu","to":"eu"}
	// {"body":"hi eu","to":"eu"}
}
