package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/urfave/cli/v2"
)

// Exit statuses of nodeipc's own failures. run and bridge otherwise exit
// with their child's status (see exitStatus).
const (
	exitOK        = 0
	exitSetup     = 1 // bad usage, or the channel or the child could not be set up
	exitNoChannel = 2 // echo and bridge: not started by Node with a channel
)

const exitHelp = `EXIT STATUS:
   0       success (echo: the parent disconnected)
   N       run, bridge: the child's own exit status N
   128+N   run, bridge: the child was killed by signal N (143 for SIGTERM)
   1       usage error, or the channel or the child could not be set up
   2       echo, bridge: no IPC channel (not started by Node with fork()
           or with 'ipc' in spawn()'s stdio)
   3       pool: at least one call failed (a summary is on stderr)`

// newApp returns the nodeipc application wired to the given streams. It
// never calls os.Exit: errors come back from App.Run, and runApp turns them
// into an exit status.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	if _, ok := stderr.(*os.File); !ok {
		// Commands, their goroutines and their children's output copiers
		// all write to stderr.
		stderr = &lockedWriter{w: stderr}
	}
	return &cli.App{
		Name:  "nodeipc",
		Usage: "speak Node.js's child_process IPC channel from the command line",
		Description: `Messages cross the command line as JSON lines: one JSON text per line,
one line per message, in both directions. Lines that are not valid JSON are
reported on stderr and never sent, since they would crash a Node peer.

` + exitHelp,
		Commands: []*cli.Command{
			runCommand(),
			echoCommand(),
			bridgeCommand(),
			poolCommand(),
			agentCommand(),
		},
		Reader:                    stdin,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		DisableSliceFlagSeparator: true, // --exec-arg=--foo=a,b is one argument
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              usageError,
		Action:                    rootAction,
	}
}

// rootAction runs for "nodeipc" without a command, or with an unknown one.
func rootAction(cCtx *cli.Context) error {
	if cCtx.Args().Len() > 0 {
		return cli.Exit(fmt.Sprintf("%s: unknown command (see nodeipc --help)", cCtx.Args().First()), exitSetup)
	}
	if err := cli.ShowAppHelp(cCtx); err != nil {
		return err
	}
	return cli.Exit("", exitSetup)
}

// runApp runs the application with args (args[0] is the program name) and
// returns the exit status. Errors are printed on stderr.
func runApp(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := newApp(stdin, stdout, stderr).Run(args)
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "nodeipc %s\n", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(stderr, "nodeipc: %v\n", err)
	return exitSetup
}

// usageError reports a flag parsing error briefly, instead of urfave/cli's
// default of printing the whole help on stdout (which run keeps for
// messages).
func usageError(cCtx *cli.Context, err error, isSubcommand bool) error {
	name := cCtx.Command.Name
	if name == "" {
		return cli.Exit(fmt.Sprintf("usage: %v (see nodeipc --help)", err), exitSetup)
	}
	return cli.Exit(fmt.Sprintf("%s: usage: %v (see nodeipc %s --help)", name, err, name), exitSetup)
}

// usagef returns a usage error of command name.
func usagef(name, format string, args ...any) error {
	return cli.Exit(fmt.Sprintf("%s: usage: %s (see nodeipc %s --help)", name, fmt.Sprintf(format, args...), name), exitSetup)
}

// setupErrorf returns a setup error of command name: exit status 1.
func setupErrorf(name, format string, args ...any) error {
	return cli.Exit(name+": "+fmt.Sprintf(format, args...), exitSetup)
}

// reporter returns a function that prints one diagnostic line of command
// name on w.
func reporter(w io.Writer, name string) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, "nodeipc %s: %s\n", name, fmt.Sprintf(format, args...))
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
