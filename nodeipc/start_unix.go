//go:build unix

package nodeipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// Start starts cmd with an IPC channel, as Node's fork() and spawn() with
// 'ipc' in stdio do, and returns the parent's end of the channel.
//
// The child's end of a close-on-exec socketpair is appended to
// cmd.ExtraFiles, so it is fd 3 when ExtraFiles was empty (fd 3 plus the
// number of extra files otherwise). The child's environment is cmd.Env (the
// current environment when nil) without inherited NODE_CHANNEL_FD,
// NODE_CHANNEL_SERIALIZATION_MODE and NODE_UNIQUE_ID, plus NODE_CHANNEL_FD and
// NODE_CHANNEL_SERIALIZATION_MODE for the new channel. Start closes its copy
// of the child's end once the child has started (both ends if it fails), so
// the channel ends when the child exits.
//
// The caller still owns cmd: it must call cmd.Wait, and Close the channel.
//
// The child does not die with the parent. If the parent is killed without a
// chance to close the channel (SIGKILL), the channel ends and a Node child
// emits 'disconnect', but it goes on running while its event loop has other
// work (timers, servers, a busy loop), as under Node's own fork(). On
// Linux, setting cmd.SysProcAttr.Pdeathsig before Start has the kernel send
// the child that signal when the parent dies (see the example); strictly,
// when the thread that started it exits, which the Go runtime does only for
// a goroutine that ends locked to its thread (runtime.LockOSThread).
func Start(cmd *exec.Cmd, opts *Options) (*Channel, error) {
	if cmd == nil {
		return nil, errors.New("nodeipc: Start: nil cmd")
	}
	if cmd.Process != nil {
		return nil, errors.New("nodeipc: Start: cmd already started")
	}
	o := opts.withDefaults()
	fds, err := socketpair()
	if err != nil {
		return nil, fmt.Errorf("nodeipc: socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "node-ipc-parent")
	child := os.NewFile(uintptr(fds[1]), "node-ipc-child")

	extra := cmd.ExtraFiles
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.ExtraFiles = append(extra[:len(extra):len(extra)], child)
	cmd.Env = channelEnv(env, 3+len(extra), o.Serialization)
	err = cmd.Start()
	child.Close()
	cmd.ExtraFiles = extra
	if err != nil {
		parent.Close()
		return nil, err
	}
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("nodeipc: %w", err)
	}
	ch, err := NewChannel(conn, &o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ch, nil
}

// Pipe returns the two ends of a connected channel in this process (over a
// socketpair), for tests and examples. Both ends use opts.
func Pipe(opts *Options) (a, b *Channel, err error) {
	fds, err := socketpair()
	if err != nil {
		return nil, nil, fmt.Errorf("nodeipc: socketpair: %w", err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "node-ipc-pipe")
		conns[i], err = net.FileConn(f)
		f.Close()
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			if i == 0 {
				unix.Close(fds[1])
			}
			return nil, nil, fmt.Errorf("nodeipc: %w", err)
		}
	}
	if a, err = NewChannel(conns[0], opts); err != nil {
		conns[0].Close()
		conns[1].Close()
		return nil, nil, err
	}
	if b, err = NewChannel(conns[1], opts); err != nil {
		a.Close()
		conns[1].Close()
		return nil, nil, err
	}
	return a, b, nil
}
