//go:build !unix

package main

import (
	"context"
	"os/exec"

	"nodeipc.dev/nodeipc"
)

// startChild starts cmd with an IPC channel (nodeipc.Start). closeSend is
// Disconnect where the socket cannot be half-closed.
func startChild(cmd *exec.Cmd, opts *nodeipc.Options) (*nodeipc.Channel, func(context.Context) error, error) {
	ch, err := nodeipc.Start(cmd, opts)
	if err != nil {
		return nil, nil, err
	}
	return ch, ch.Disconnect, nil
}
