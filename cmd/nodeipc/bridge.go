package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"nodeipc.dev/nodeipc"
)

func bridgeCommand() *cli.Command {
	return &cli.Command{
		Name:      "bridge",
		Usage:     "as a child of Node: connect the IPC channel to a program's stdin and stdout as JSON lines",
		ArgsUsage: "[--] PROGRAM [ARGS...]",
		Description: `bridge adopts the IPC channel its Node parent passed in NODE_CHANNEL_FD and runs
PROGRAM with the channel on its stdin and stdout, so that a program in any
language becomes a Node IPC child without knowing the protocol:

 - each message from Node is written to PROGRAM's stdin as one JSON line;
 - each line PROGRAM writes on stdout is sent to Node as one message. A line
   that is not valid JSON is reported on stderr and never reaches Node (it
   would crash it); blank lines are skipped;
 - PROGRAM's stderr is our stderr; its exit status is ours.

When Node disconnects, PROGRAM's stdin is closed; bridge then waits for it to
exit. When PROGRAM exits, everything it wrote is flushed to Node, then the
channel is disconnected. SIGINT, SIGTERM and SIGHUP are forwarded to PROGRAM
(which runs in its own process group); a second signal kills it.

From Node:

   spawn('/path/to/nodeipc', ['bridge', '--', 'python3', 'worker.py'], {stdio: ['inherit', 'inherit', 'inherit', 'ipc']})
   fork('worker.py', [], {execPath: '/path/to/nodeipc', execArgv: ['bridge', '--', 'python3']})

` + exitHelp,
		OnUsageError: usageError,
		Action:       bridgeAction,
	}
}

func bridgeAction(cCtx *cli.Context) error {
	const name = "bridge"
	stderr := cCtx.App.ErrWriter
	report := reporter(stderr, name)
	args := cCtx.Args().Slice()
	if len(args) == 0 {
		return usagef(name, "missing PROGRAM")
	}
	ch, err := nodeipc.FromEnv(nil)
	if errors.Is(err, nodeipc.ErrNoChannel) {
		return cli.Exit(name+": not started by Node with an IPC channel (NODE_CHANNEL_FD is not set)", exitNoChannel)
	}
	if err != nil {
		return setupErrorf(name, "%v", err)
	}
	defer ch.Close()

	// Our own pipes rather than StdinPipe/StdoutPipe: Wait must not close
	// PROGRAM's stdout before we have read all of it.
	inR, inW, err := os.Pipe()
	if err != nil {
		return setupErrorf(name, "%v", err)
	}
	defer inW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		return setupErrorf(name, "%v", err)
	}
	defer outR.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = stderr
	cmd.WaitDelay = closeGrace // in case a grandchild keeps stderr open
	isolate(cmd)

	sigs := catchSignals()
	defer sigs.release()
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		return setupErrorf(name, "%v", err)
	}
	sigs.forward(cmd.Process, report)
	prog := filepath.Base(args[0])
	ctx := context.Background()

	// Node → PROGRAM's stdin. When Node disconnects (or we close the
	// channel), PROGRAM gets EOF.
	toProgram := make(chan struct{})
	go func() {
		defer close(toProgram)
		_ = recvLines(ctx, ch, inW, prog+"'s stdin", report)
		inW.Close()
	}()

	// PROGRAM's stdout → Node, until PROGRAM closes it.
	err = sendLines(ctx, ch, outR, prog+" stdout", report)
	if errors.Is(err, nodeipc.ErrDisconnected) || errors.Is(err, net.ErrClosed) {
		n, _ := io.Copy(io.Discard, outR)
		if n > 0 {
			report("Node disconnected: %d bytes of %s output dropped", n, prog)
		}
	} else if err != nil {
		report("reading %s stdout: %v", prog, err)
	}

	waitErr := cmd.Wait()
	if err := ch.Disconnect(ctx); err != nil {
		report("disconnect: %v", err)
	}
	<-toProgram

	status, ok := childStatus(cmd, waitErr)
	if !ok {
		return setupErrorf(name, "waiting for %s: %v", prog, waitErr)
	}
	if status != 0 {
		return cli.Exit("", status)
	}
	return nil
}
