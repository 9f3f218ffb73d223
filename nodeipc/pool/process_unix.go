//go:build unix

package pool

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts a worker in its own process group, so the pool can
// signal it with its children, and (on Linux) has the kernel kill it when
// this process dies.
func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends SIGKILL (kill) or SIGTERM to w's process group, unless
// the worker has already been reaped.
func signalGroup(w *worker, kill bool) {
	select {
	case <-w.exited:
		return
	default:
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if pid := int(w.pid.Load()); pid > 0 {
		syscall.Kill(-pid, sig)
	}
}

// killLeftovers kills what is left of w's process group after the worker
// itself exited: grandchildren it started and did not stop.
func killLeftovers(w *worker) {
	if pid := int(w.pid.Load()); pid > 0 {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}
