package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"
	"nodeipc.dev/nodeipc"
)

func echoCommand() *cli.Command {
	return &cli.Command{
		Name:      "echo",
		Usage:     "as a child of Node: send back every message",
		ArgsUsage: "[IGNORED...]",
		Description: `echo adopts the IPC channel its Node parent passed in NODE_CHANNEL_FD (at any
stdio index) and sends every message back: decoded into Go values and encoded
again, or with --raw byte for byte as it arrived (json serialization only).
It exits when the parent disconnects. Bad input is reported on stderr and
skipped.

Arguments are ignored, so Node's fork() can run it as its execPath:

   fork(script, [], {execPath: '/path/to/nodeipc', execArgv: ['echo']})
   spawn('/path/to/nodeipc', ['echo'], {stdio: ['pipe', 'pipe', 'pipe', 'ipc']})

` + exitHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{
				Name:  "raw",
				Usage: "echo each message's bytes untouched instead of decoding and re-encoding it",
			},
		},
		OnUsageError: usageError,
		Action:       echoAction,
	}
}

func echoAction(cCtx *cli.Context) error {
	const name = "echo"
	report := reporter(cCtx.App.ErrWriter, name)
	ch, err := nodeipc.FromEnv(nil)
	if errors.Is(err, nodeipc.ErrNoChannel) {
		return cli.Exit(name+": not started by Node with an IPC channel (NODE_CHANNEL_FD is not set)", exitNoChannel)
	}
	if err != nil {
		return setupErrorf(name, "%v", err)
	}
	defer ch.Close()

	raw := cCtx.Bool("raw")
	ctx := context.Background()
	for {
		m, err := ch.Recv(ctx)
		var perr *nodeipc.ProtocolError
		switch {
		case errors.As(err, &perr):
			report("bad message skipped: %v", perr)
			continue
		case errors.Is(err, nodeipc.ErrDisconnected):
			return nil
		case err != nil:
			return setupErrorf(name, "%v", err)
		}
		var v any = m // --raw: the message is forwarded byte for byte
		if !raw {
			// Decoded into memory the message's Release recycles: the
			// value is written out by Send before that.
			decoded, err := m.Value()
			if err != nil {
				report("message not echoed: %v", err)
				m.Release()
				continue
			}
			v = decoded
		}
		var err2 error
		if h := m.Handle(); h != nil {
			// A socket or server that came with the message goes back with
			// its echo; SendHandle returns once Node has acknowledged it.
			err2 = ch.SendHandle(ctx, v, h, nil)
			if err2 != nil {
				h.Close()
			}
		} else {
			err2 = ch.Send(ctx, v)
		}
		m.Release() // Send and SendHandle have encoded v
		if err := err2; err != nil {
			if errors.Is(err, nodeipc.ErrDisconnected) {
				return nil
			}
			if errors.Is(err, nodeipc.ErrInvalidMessage) || errors.Is(err, nodeipc.ErrMessageTooLarge) ||
				errors.Is(err, nodeipc.ErrInvalidHandle) || errors.Is(err, nodeipc.ErrHandleNotAccepted) {
				report("message not echoed: %v", err)
				continue
			}
			return setupErrorf(name, "%v", err)
		}
	}
}
