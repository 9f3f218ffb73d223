package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"sync"
)

// signalForwarder relays the signals that stop a program (SIGINT, SIGTERM,
// SIGHUP) to a child: the first one is passed on, so the child can shut
// down its own way; a second one kills the child.
//
// The child runs in its own process group (see isolate), so a Ctrl-C on
// the terminal reaches it once, through us, and not twice.
type signalForwarder struct {
	sigs chan os.Signal
	stop chan struct{}
	wg   sync.WaitGroup
}

// catchSignals starts catching the signals to forward. Call it before
// starting the child, so that no signal is lost in between, and call
// release when done.
func catchSignals() *signalForwarder {
	f := &signalForwarder{sigs: make(chan os.Signal, 4), stop: make(chan struct{})}
	signal.Notify(f.sigs, forwardedSignals...)
	return f
}

// forward relays caught signals to p until release is called.
func (f *signalForwarder) forward(p *os.Process, report func(string, ...any)) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for n := 0; ; n++ {
			select {
			case <-f.stop:
				return
			case sig := <-f.sigs:
				if n == 0 {
					_ = p.Signal(sig)
				} else {
					report("%v again: killing the child", sig)
					_ = p.Kill()
				}
			}
		}
	}()
}

// release stops catching signals and waits for the forwarding goroutine.
func (f *signalForwarder) release() {
	signal.Stop(f.sigs)
	close(f.stop)
	f.wg.Wait()
}

// childStatus returns the exit status nodeipc passes on for a child that
// cmd.Wait reported with err: the child's own status, or 128+N when signal
// N killed it. ok is false if the child's status is unknown (Wait failed
// before the child exited).
func childStatus(cmd *exec.Cmd, err error) (status int, ok bool) {
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, false
	}
	if cmd.ProcessState == nil {
		return 0, false
	}
	return exitStatus(cmd.ProcessState), true
}
