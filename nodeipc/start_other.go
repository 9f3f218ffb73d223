//go:build !unix && !windows

package nodeipc

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
)

// Start starts cmd with an IPC channel. Not supported on this platform yet:
// Node's Windows channel is a named pipe passed through the CRT's
// lpReserved2, which os/exec cannot set (see PROTOCOL.md).
func Start(cmd *exec.Cmd, opts *Options) (*Channel, error) {
	return nil, fmt.Errorf("nodeipc: Start: %w", errors.ErrUnsupported)
}

// Pipe returns the two ends of a connected channel in this process, for
// tests and examples.
func Pipe(opts *Options) (a, b *Channel, err error) {
	c1, c2 := net.Pipe()
	if a, err = NewChannel(c1, opts); err != nil {
		c1.Close()
		c2.Close()
		return nil, nil, err
	}
	if b, err = NewChannel(c2, opts); err != nil {
		a.Close()
		c2.Close()
		return nil, nil, err
	}
	return a, b, nil
}

func adoptFD(fd int, opts *Options) (*Channel, error) {
	return nil, fmt.Errorf("nodeipc: FromEnv: %w", errors.ErrUnsupported)
}
