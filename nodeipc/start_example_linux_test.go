//go:build linux

package nodeipc_test

import (
	"context"
	"log"
	"syscall"

	"nodeipc.dev/nodeipc"
)

// A child started with Start outlives a parent killed with SIGKILL if its
// event loop is busy. On Linux the kernel can end it with the parent: set
// a parent-death signal before Start.
func ExampleStart_parentDeathSignal() {
	cmd := nodeipc.NodeCommand("", nil, "worker.js")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := ch.Send(context.Background(), "work"); err != nil {
		log.Fatal(err)
	}
	ch.Close()
	cmd.Wait()
}
