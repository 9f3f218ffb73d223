//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// forwardedSignals are the signals run and bridge pass on to their child.
var forwardedSignals = []os.Signal{os.Interrupt}

// isolate does nothing: on Windows the child shares our console, so a
// Ctrl-C reaches it directly (Process.Signal cannot deliver os.Interrupt
// there, so the forwarder's first signal does nothing and its second kills
// the child).
func isolate(cmd *exec.Cmd) {}

// exitStatus returns the process's exit code.
func exitStatus(ps *os.ProcessState) int { return ps.ExitCode() }
