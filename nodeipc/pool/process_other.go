//go:build !unix

package pool

import "os/exec"

func setProcAttr(*exec.Cmd) {}

func signalGroup(w *worker, kill bool) {
	select {
	case <-w.exited:
		return
	default:
	}
	if kill {
		w.cmd.Process.Kill()
	}
}

func killLeftovers(*worker) {}
