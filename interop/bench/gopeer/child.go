//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"nodeipc.dev/interop/bench/internal/shape"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// Child modes: what the child does with the messages it echoes and
// receives.
const (
	modeTyped = "typed" // decode into the shape's Go type, send that back
	modeRaw   = "raw"   // frame only: echo the message as it arrived, drop p2c messages undecoded
	modeAny   = "any"   // decode into an any (jsvalue's value model, Message.Value) and send that back
)

// runChild is the Go child: it adopts the channel its parent made, says
// "ready", then serves the parent's control messages until the parent
// disconnects.
func runChild(mode string) error {
	ch, err := nodeipc.FromEnv(&nodeipc.Options{SendQueueSize: sendQueue})
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx := context.Background()
	if err := ch.Send(ctx, &shape.Msg{Op: "ready"}); err != nil {
		return err
	}
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			return nil
		}
		if err != nil {
			return err
		}
		if mode == modeAny {
			// The untyped echo: whatever the message is, decoded into the
			// value model (with Value, in the memory the message's Release
			// recycles) and encoded again.
			v, err := m.Value()
			if err != nil {
				return err
			}
			if o, ok := v.(*jsvalue.Object); ok {
				if op, _ := o.Get("op"); op == "echo" {
					err := ch.Send(ctx, v)
					m.Release()
					if err != nil {
						return err
					}
					continue
				}
			}
		}
		var msg shape.Msg
		if err := m.Decode(&msg); err != nil {
			return err
		}
		switch msg.Op {
		case "echo":
			if mode == modeRaw {
				err = ch.Send(ctx, m) // forwarded byte for byte
			} else {
				err = ch.Send(ctx, &msg)
			}
		case shape.KindC2P:
			err = sendMany(ctx, ch, msg.Shape, msg.N)
		case shape.KindP2C:
			err = recvMany(ctx, ch, msg.Shape, msg.N, mode == modeRaw)
			if err == nil {
				err = ch.Send(ctx, &shape.Msg{Op: "done", N: msg.N})
			}
		case "stats":
			err = ch.Send(ctx, &shape.Stats{Op: "stats", CPUus: cpuTime().Microseconds(), RSSkiB: peakRSS()})
		default:
			fmt.Fprintf(os.Stderr, "gopeer child: unknown op %q\n", msg.Op)
		}
		m.Release() // Send has encoded what it needed of m
		if err != nil {
			return err
		}
	}
}

// sendMany sends n messages of the named shape, encoding each one.
func sendMany(ctx context.Context, ch *nodeipc.Channel, name string, n int) error {
	v := shape.Value(name)
	if v == nil {
		return fmt.Errorf("unknown shape %q", name)
	}
	for range n {
		if err := ch.Send(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// recvMany receives n messages of the named shape, decoding each into a
// fresh value of its type unless raw is set.
func recvMany(ctx context.Context, ch *nodeipc.Channel, name string, n int, raw bool) error {
	for range n {
		m, err := ch.Recv(ctx)
		if err != nil {
			return err
		}
		if !raw {
			err = decodeShape(m, name)
		}
		m.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// decodeShape decodes m into a new value of the named shape's Go type.
func decodeShape(m *nodeipc.Message, name string) error {
	switch name {
	case shape.MediumName:
		var v shape.Medium
		return m.Decode(&v)
	default:
		var v shape.Msg
		return m.Decode(&v)
	}
}
