package pool

import (
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// workerOutput copies a worker's stdout and stderr to the pool's line
// writers. On Windows Start takes only files for a child's stdio (it does
// not run cmd.Start, so cmd.Wait would not wait for a copy), so the pool
// makes the pipes and owns the goroutines that copy them; run joins them
// once the worker has exited, as cmd.Wait does elsewhere.
type workerOutput struct {
	r, w [2]*os.File
	dst  [2]io.Writer
	wg   sync.WaitGroup
}

// attachOutput gives cmd the write ends of two pipes for stdout and
// stderr.
func attachOutput(cmd *exec.Cmd, stdout, stderr io.Writer) (*workerOutput, error) {
	o := &workerOutput{dst: [2]io.Writer{stdout, stderr}}
	for i := range o.r {
		r, w, err := os.Pipe()
		if err != nil {
			o.closeAll()
			return nil, err
		}
		o.r[i], o.w[i] = r, w
	}
	cmd.Stdout, cmd.Stderr = o.w[0], o.w[1]
	return o, nil
}

// started closes the write ends (the child has its copies) and, if the
// child started, starts the copies; otherwise it closes everything and
// returns nil.
func (o *workerOutput) started(ok bool) *workerOutput {
	for i := range o.w {
		o.w[i].Close()
		o.w[i] = nil
	}
	if !ok {
		o.closeAll()
		return nil
	}
	o.wg.Add(len(o.r))
	for i := range o.r {
		go func() {
			defer o.wg.Done()
			_, _ = io.Copy(o.dst[i], o.r[i])
		}()
	}
	return o
}

// wait waits for the copies to reach the end of the output, at most delay
// once the worker has exited (a grandchild may hold the pipes open), then
// closes the pipes and joins the copies.
func (o *workerOutput) wait(delay time.Duration) {
	if o == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(delay)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	o.closeAll()
	<-done
}

func (o *workerOutput) closeAll() {
	for i := range o.r {
		for _, f := range []*os.File{o.r[i], o.w[i]} {
			if f != nil {
				f.Close()
			}
		}
	}
}
