//go:build unix

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"nodeipc.dev/nodeipc"
)

// startChild starts cmd with an IPC channel, as nodeipc.Start does (the
// child's end at fd 3+len(cmd.ExtraFiles), NODE_CHANNEL_FD and
// NODE_CHANNEL_SERIALIZATION_MODE in its environment), and returns the
// channel with a closeSend function.
//
// closeSend flushes the channel and then shuts down only our sending side:
// the child reads EOF and sees 'disconnect', while we keep receiving what it
// sent before it noticed, until it closes its end. The library's Disconnect
// closes both directions at once, which loses those messages and makes a
// Node child that is replying crash with EPIPE; until the library offers a
// half-close, run keeps the socket itself to do it.
func startChild(cmd *exec.Cmd, opts *nodeipc.Options) (ch *nodeipc.Channel, closeSend func(context.Context) error, err error) {
	// SOCK_CLOEXEC does not exist everywhere (macOS): set close-on-exec
	// under ForkLock, as package net does.
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "node-ipc-parent")
	child := os.NewFile(uintptr(fds[1]), "node-ipc-child")
	defer child.Close()
	fc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, nil, err
	}
	conn := fc.(*net.UnixConn)
	if ch, err = nodeipc.NewChannel(conn, opts); err != nil {
		conn.Close()
		return nil, nil, err
	}

	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = make([]string, 0, len(env)+2)
	for _, kv := range env {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE", "NODE_UNIQUE_ID":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		"NODE_CHANNEL_FD="+strconv.Itoa(3+len(cmd.ExtraFiles)),
		"NODE_CHANNEL_SERIALIZATION_MODE="+ch.Serialization().String())
	cmd.ExtraFiles = append(cmd.ExtraFiles, child)
	if err := cmd.Start(); err != nil {
		ch.Close()
		return nil, nil, err
	}
	closeSend = func(ctx context.Context) error {
		if err := ch.Flush(ctx); err != nil {
			return err
		}
		return conn.CloseWrite()
	}
	return ch, closeSend, nil
}
