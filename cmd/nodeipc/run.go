package main

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"time"

	"github.com/urfave/cli/v2"
	"nodeipc.dev/nodeipc"
)

// closeGrace bounds how long run and bridge wait, once a child has exited,
// for its end of the channel to close. Only a leaked copy of the socket (in
// a grandchild) keeps it open longer.
const closeGrace = 5 * time.Second

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "fork a Node script with an IPC channel: JSON lines in, JSON lines out",
		ArgsUsage: "[--] SCRIPT [ARGS...]",
		Description: `run starts SCRIPT the way Node's child_process.fork() does: NODE ARGV... SCRIPT ARGS...
with the IPC channel at fd 3 (NODE_CHANNEL_FD=3). With --exec, SCRIPT is a program
to run directly (any program that speaks the channel, such as "nodeipc echo").

Each line on stdin is one message to the child. A line that is not valid JSON
is reported on stderr and not sent; blank lines are skipped. Each message from
the child is written to stdout as one JSON line. The child's own stdout and
stderr go to our stderr, so stdout carries messages only. Bad input from the
child is reported on stderr and skipped.

At the end of stdin, run flushes the messages and disconnects (the child sees
'disconnect'), but keeps printing the messages the child sent before it saw
the disconnect, then waits for the child to exit. On Windows, whose pipe
cannot be half-closed, the end of stdin closes the channel: messages the
child sends after that are lost.
SIGINT, SIGTERM and SIGHUP are forwarded to the child (which runs in its own
process group); a second signal kills it. On Windows the child shares the
console and gets a Ctrl-C itself; a second one kills it.

` + exitHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "node",
				Value:   "node",
				EnvVars: []string{"NODEIPC_NODE"},
				Usage:   "the Node binary (looked up in PATH if it has no slash)",
			},
			&cli.StringSliceFlag{
				Name:  "exec-arg",
				Usage: "an argument for Node before SCRIPT, like fork()'s execArgv (repeatable)",
			},
			&cli.GenericFlag{
				Name:  "serialization",
				Value: &serializationFlag{},
				Usage: `the channel's serialization, like fork()'s option: "json" or "advanced"`,
			},
			&cli.BoolFlag{
				Name:  "exec",
				Usage: "run SCRIPT as a program itself instead of with Node (--node and --exec-arg do not apply)",
			},
		},
		OnUsageError: usageError,
		Action:       runAction,
	}
}

func runAction(cCtx *cli.Context) error {
	const name = "run"
	stdin, stdout, stderr := cCtx.App.Reader, cCtx.App.Writer, cCtx.App.ErrWriter
	report := reporter(stderr, name)
	args := cCtx.Args().Slice()
	if len(args) == 0 {
		return usagef(name, "missing SCRIPT")
	}
	execArgs := cCtx.StringSlice("exec-arg")
	opts := nodeipc.Options{Serialization: cCtx.Generic("serialization").(*serializationFlag).s}

	var cmd *exec.Cmd
	if cCtx.Bool("exec") {
		if len(execArgs) > 0 {
			return usagef(name, "--exec-arg does not apply with --exec")
		}
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		cmd = nodeipc.NodeCommand(cCtx.String("node"), execArgs, args[0], args[1:]...)
	}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.WaitDelay = closeGrace // in case a grandchild keeps the output pipe open
	isolate(cmd)

	sigs := catchSignals()
	defer sigs.release()
	ch, err := nodeipc.Start(cmd, &opts)
	if err != nil {
		return setupErrorf(name, "%v", err)
	}
	sigs.forward(cmd.Process, report)

	// Child → stdout, until the channel ends.
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		_ = recvLines(context.Background(), ch, stdout, "stdout", report)
	}()

	// stdin → child; at EOF, flush and disconnect our side. sendCtx ends
	// when the child exits, so a Send or the final flush cannot outlive it.
	sendCtx, cancelSend := context.WithCancel(context.Background())
	defer cancelSend()
	stdinDone := make(chan struct{})
	go func() {
		defer close(stdinDone)
		err := sendLines(sendCtx, ch, stdin, "stdin", report)
		if sendCtx.Err() != nil || errors.Is(err, nodeipc.ErrDisconnected) || errors.Is(err, net.ErrClosed) {
			return // the child is gone: nothing to disconnect
		}
		if err != nil {
			report("reading stdin: %v", err)
		}
		// Half-close: the child sees 'disconnect' after every message, and
		// what it sends meanwhile still reaches us.
		err = ch.CloseWrite(sendCtx)
		if errors.Is(err, errors.ErrUnsupported) {
			// No half-close (Windows' pipe): disconnect outright.
			err = ch.Disconnect(sendCtx)
		}
		if err != nil && sendCtx.Err() == nil {
			report("disconnect: %v", err)
		}
	}()

	waitErr := cmd.Wait()
	cancelSend()

	// The child has exited: print what it sent before its end of the
	// channel closed.
	select {
	case <-recvDone:
	case <-time.After(closeGrace):
		report("the child exited but its channel is still open (another process holds it); closing")
	}
	ch.Close()
	<-recvDone

	// Stop reading stdin if it can be interrupted; otherwise the reader is
	// left blocked, and ends with the process.
	if d, ok := stdin.(interface{ SetReadDeadline(time.Time) error }); ok && d.SetReadDeadline(time.Now()) == nil {
		<-stdinDone
	}

	status, ok := childStatus(cmd, waitErr)
	if !ok {
		return setupErrorf(name, "waiting for the child: %v", waitErr)
	}
	if waitErr != nil && errors.Is(waitErr, exec.ErrWaitDelay) {
		report("the child's output was still open after it exited; stopped copying it")
	}
	if status != 0 {
		return cli.Exit("", status)
	}
	return nil
}
