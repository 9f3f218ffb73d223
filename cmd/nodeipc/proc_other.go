//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// forwardedSignals are the signals run and bridge pass on to their child.
var forwardedSignals = []os.Signal{os.Interrupt}

// isolate does nothing where process groups do not exist.
func isolate(cmd *exec.Cmd) {}

// exitStatus returns the process's exit code.
func exitStatus(ps *os.ProcessState) int { return ps.ExitCode() }
