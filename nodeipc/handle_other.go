//go:build !unix

package nodeipc

import (
	"errors"
	"fmt"
	"net"
)

func handleFD(h any, typ HandleType) (int, HandleType, string, error) {
	return -1, "", "", fmt.Errorf("%w: %w", ErrInvalidHandle, errors.ErrUnsupported)
}

func fdValue(fd int, typ HandleType) (any, error) {
	return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, errors.ErrUnsupported)
}

func (t *transport) writeHandle(h *handleSend) error { return errors.ErrUnsupported }

func listenHandle(h *Handle, backlog int) (net.Listener, error) {
	h.Close()
	return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, errors.ErrUnsupported)
}
