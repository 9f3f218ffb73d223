package pool

import "syscall"

// setDeathSignal has the kernel SIGKILL the worker when the thread that
// started it exits; the Go runtime only ends threads that a goroutine
// locked and did not unlock, which the pool never does, so in practice
// this is when the pool's process dies.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
