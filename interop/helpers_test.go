package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

func adopt() (*nodeipc.Channel, int) {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", err)
		return nil, 3
	}
	return ch, 0
}

// echoLoop sends back every message as reply makes it of the message
// (decoded into Go values, or the message itself to forward it raw), then
// releases the message, and returns 0 when the parent disconnects.
func echoLoop(reply func(m *nodeipc.Message) (any, error)) int {
	ch, code := adopt()
	if ch == nil {
		return code
	}
	ctx := context.Background()
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			if err := ch.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "close:", err)
				return 1
			}
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "recv:", err)
			return 1
		}
		v, err := reply(m)
		if err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			return 1
		}
		if err := ch.Send(ctx, v); err != nil {
			fmt.Fprintln(os.Stderr, "send:", err)
			return 1
		}
		m.Release() // Send has encoded v (which may live in m's memory: Value)
	}
}

// decodeInto returns a reply function for echoLoop that decodes the
// message into a new T.
func decodeInto[T any]() func(m *nodeipc.Message) (any, error) {
	return func(m *nodeipc.Message) (any, error) {
		var v T
		err := m.Decode(&v)
		return v, err
	}
}

var (
	_ = nodetest.RegisterHelper("echo", func() int { return echoLoop(decodeInto[any]()) })
	// echo-value decodes with Message.Value, into memory that the release
	// after each echo recycles for the next message.
	_ = nodetest.RegisterHelper("echo-value", func() int {
		return echoLoop(func(m *nodeipc.Message) (any, error) { return m.Value() })
	})
	_ = nodetest.RegisterHelper("echo-raw", func() int {
		return echoLoop(func(m *nodeipc.Message) (any, error) { return m, nil }) // forwarded byte for byte
	})
	// echo-map decodes objects into map[string]any (Go maps have no key
	// order) and forwards the other messages.
	_ = nodetest.RegisterHelper("echo-map", func() int {
		return echoLoop(func(m *nodeipc.Message) (any, error) {
			var obj map[string]any
			if m.Decode(&obj) != nil {
				return m, nil
			}
			return obj, nil
		})
	})

	// reply-and-disconnect answers one message, then disconnects.
	_ = nodetest.RegisterHelper("reply-and-disconnect", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		ctx := context.Background()
		m, err := ch.Recv(ctx)
		if err != nil {
			return 1
		}
		if err := ch.Send(ctx, map[string]json.RawMessage{"bye": m.Raw()}); err != nil {
			return 1
		}
		if err := ch.Disconnect(ctx); err != nil {
			return 1
		}
		return 0
	})

	// adv-large sends four 8 MB Uint8Arrays and ten 65,521-byte Buffers,
	// then counts the Buffers it receives.
	_ = nodetest.RegisterHelper("adv-large", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		defer ch.Close()
		ctx := context.Background()
		for i := range 4 {
			u := make(jsvalue.Uint8Array, 8<<20)
			for j := range u {
				u[j] = byte(i + j)
			}
			if err := ch.Send(ctx, u); err != nil {
				return 1
			}
		}
		for i := range 10 {
			b := make(jsvalue.Buffer, 65521)
			b[0], b[65520] = byte(i), byte(i)
			if err := ch.Send(ctx, b); err != nil {
				return 1
			}
		}
		n, bytes := 0, 0
		for n < 10 {
			m, err := ch.Recv(ctx)
			if err != nil {
				return 1
			}
			var b []byte
			if err := m.Decode(&b); err != nil || len(b) == 0 || b[0] != byte(n) {
				fmt.Fprintln(os.Stderr, "buffer", n, err)
				return 1
			}
			n++
			bytes += len(b)
		}
		if err := ch.Send(ctx, map[string]int{"buffers": n, "bytes": bytes}); err != nil {
			return 1
		}
		_, err := ch.Recv(ctx) // until the parent disconnects
		if !errors.Is(err, nodeipc.ErrDisconnected) {
			return 1
		}
		return 0
	})

	// burst sends 50,000 messages and exits at once.
	_ = nodetest.RegisterHelper("burst", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		ctx := context.Background()
		for i := range 50000 {
			if err := ch.Send(ctx, map[string]int{"i": i}); err != nil {
				return 1
			}
		}
		if err := ch.Close(); err != nil {
			return 1
		}
		os.Exit(0)
		return 0
	})

	// envcheck reports the channel variables it sees and what a grandchild
	// it starts sees.
	_ = nodetest.RegisterHelper("envcheck", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		defer ch.Close()
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=grandchild")
		out, err := cmd.Output()
		if err != nil {
			return 5
		}
		report := map[string]string{
			"fd":         os.Getenv("NODE_CHANNEL_FD"),
			"mode":       os.Getenv("NODE_CHANNEL_SERIALIZATION_MODE"),
			"grandchild": strings.TrimSpace(string(out)),
		}
		if err := ch.Send(context.Background(), report); err != nil {
			return 4
		}
		return 0
	})

	_ = nodetest.RegisterHelper("grandchild", nodetest.ReportInherited)
)
