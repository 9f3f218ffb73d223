package nodeipc

import (
	"os/exec"
	"strconv"
	"strings"
)

// NodeCommand returns the *exec.Cmd that Node's fork(script, args, {execPath,
// execArgv}) would run: node, then execArgv, then script and args. node ""
// means "node" looked up in PATH. Pass the result to Start; the caller may
// set Dir, Env, Stdin, Stdout, Stderr and the rest before that.
func NodeCommand(node string, execArgv []string, script string, args ...string) *exec.Cmd {
	if node == "" {
		node = "node"
	}
	argv := make([]string, 0, len(execArgv)+1+len(args))
	argv = append(argv, execArgv...)
	argv = append(argv, script)
	argv = append(argv, args...)
	return exec.Command(node, argv...)
}

// channelEnv returns env (or the current environment when env is nil)
// without any inherited channel variables, plus the variables for a channel
// at fd with the given serialization.
func channelEnv(env []string, fd int, mode Serialization) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case envChannelFD, envChannelMode, envUniqueID:
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		envChannelFD+"="+strconv.Itoa(fd),
		envChannelMode+"="+mode.String())
}
