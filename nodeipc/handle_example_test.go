//go:build unix

package nodeipc_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"nodeipc.dev/nodeipc"
)

// A listener handed to the other end of a channel, which would normally be
// a Node process (it gets a net.Server).
func ExampleChannel_SendHandle() {
	a, b, err := nodeipc.Pipe(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ctx := context.Background()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	// Returns once the peer has acknowledged the handle; l is closed then.
	if err := a.SendHandle(ctx, map[string]string{"role": "http"}, l, nil); err != nil {
		log.Fatal(err)
	}

	m, err := b.Recv(ctx)
	if err != nil {
		log.Fatal(err)
	}
	h := m.Handle() // the receiver owns it now
	defer h.Close()
	_, isListener := h.Value.(net.Listener)
	fmt.Println(m, h.Type, isListener)
	// Output: {"role":"http"} net.Server true
}
