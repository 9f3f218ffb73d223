//go:build !windows

package pool

import (
	"io"
	"os/exec"
	"time"
)

// workerOutput is nothing here: os/exec copies a worker's output, and
// cmd.Wait waits for it.
type workerOutput struct{}

// attachOutput gives the worker's stdout and stderr to cmd.
func attachOutput(cmd *exec.Cmd, stdout, stderr io.Writer) (*workerOutput, error) {
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return nil, nil
}

func (o *workerOutput) started(ok bool) *workerOutput { return o }

func (o *workerOutput) wait(delay time.Duration) {}
