//go:build unix

package nodeipc

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdKind is what libuv's uv_guess_handle would call an fd, refined.
type fdKind int

const (
	kindOther      fdKind = iota // Node aborts or jams on it
	kindTCP                      // AF_INET/6 stream
	kindUnixStream               // AF_UNIX stream
	kindFIFO                     // a pipe
	kindUDP                      // AF_INET/6 datagram
)

type fdInfo struct {
	kind      fdKind
	listening bool
	connected bool
	inet6     bool
}

// inspectFD classifies fd without changing it.
func inspectFD(fd int) (fdInfo, error) {
	var info fdInfo
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return info, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		info.kind = kindFIFO
		return info, nil
	case unix.S_IFSOCK:
	default:
		return info, nil
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return info, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return info, err
	}
	inet := false
	switch sa.(type) {
	case *unix.SockaddrInet4:
		inet = true
	case *unix.SockaddrInet6:
		inet, info.inet6 = true, true
	case *unix.SockaddrUnix:
	default:
		return info, nil
	}
	switch {
	case typ == unix.SOCK_STREAM && inet:
		info.kind = kindTCP
	case typ == unix.SOCK_STREAM:
		info.kind = kindUnixStream
	case typ == unix.SOCK_DGRAM && inet:
		info.kind = kindUDP
		return info, nil
	default:
		return info, nil
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && v != 0 {
		info.listening = true
	} else if _, err := unix.Getpeername(fd); err == nil {
		info.connected = true
	}
	return info, nil
}

// dupFD duplicates the fd behind v (close-on-exec).
func dupFD(v any) (int, error) {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%w: %T has no file descriptor", ErrInvalidHandle, v)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("%w: %T: %w", ErrInvalidHandle, v, err)
	}
	dup := -1
	var dupErr error
	err = rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return -1, fmt.Errorf("nodeipc: handle: dup: %w", err)
	}
	return dup, nil
}

// handleFD duplicates h's fd and decides the NODE_HANDLE type (typ, when
// given, must fit the fd) and dgramType. It refuses every fd a Node peer
// cannot take.
func handleFD(h any, typ HandleType) (fd int, _ HandleType, dgramType string, err error) {
	if h == nil {
		return -1, "", "", fmt.Errorf("%w: nil handle", ErrInvalidHandle)
	}
	fd, err = dupFD(h)
	if err != nil {
		return -1, "", "", err
	}
	info, err := inspectFD(fd)
	if err != nil {
		closeFD(fd)
		return -1, "", "", fmt.Errorf("%w: %w", ErrInvalidHandle, err)
	}
	fail := func(format string, args ...any) (int, HandleType, string, error) {
		closeFD(fd)
		return -1, "", "", fmt.Errorf("%w: "+format, append([]any{ErrInvalidHandle}, args...)...)
	}
	stream := info.kind == kindTCP || info.kind == kindUnixStream
	switch info.kind {
	case kindOther:
		return fail("%T is not a TCP, Unix stream or UDP socket, or a pipe (a Node peer would abort or stall on it)", h)
	case kindUDP:
		dgramType = "udp4"
		if info.inet6 {
			dgramType = "udp6"
		}
	}
	if typ == "" {
		_, isListener := h.(net.Listener)
		switch {
		case info.kind == kindUDP:
			typ = HandleDgram
		case stream && (info.listening || isListener):
			typ = HandleServer
		default:
			typ = HandleSocket
		}
	}
	switch typ {
	case HandleSocket, HandleNative:
		if !stream && info.kind != kindFIFO {
			return fail("a %s must be a stream socket or a pipe", typ)
		}
		if typ == HandleSocket && info.listening {
			return fail("a listening socket cannot be sent as net.Socket")
		}
	case HandleServer:
		if !stream || info.connected {
			return fail("a net.Server must be a listening (or bound) stream socket")
		}
	case HandleDgram, HandleDgramNative:
		if info.kind != kindUDP {
			return fail("a %s must be a UDP socket", typ)
		}
	default:
		return fail("unknown handle type %q", typ)
	}
	if typ != HandleDgram {
		dgramType = ""
	}
	return fd, typ, dgramType, nil
}

// fdValue turns a received fd into the Go value for its type; it takes
// ownership of fd (closing it on error).
func fdValue(fd int, typ HandleType) (any, error) {
	info, err := inspectFD(fd)
	if err != nil {
		closeFD(fd)
		return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, err)
	}
	stream := info.kind == kindTCP || info.kind == kindUnixStream
	bad := func(what string) (any, error) {
		closeFD(fd)
		return nil, fmt.Errorf("%w: %s handle is %s", ErrInvalidHandle, typ, what)
	}
	switch typ {
	case HandleSocket, HandleNative:
		switch {
		case info.kind == kindFIFO:
			return fdFile(fd, "node-pipe"), nil
		case !stream:
			return bad("not a stream socket or a pipe")
		case info.listening && typ == HandleNative:
			return fileListener(fd)
		case info.listening:
			return bad("a listening socket")
		case info.connected || typ == HandleSocket:
			return fileConn(fd)
		default: // bound or fresh, not listening: raw
			return fdFile(fd, "node-socket"), nil
		}
	case HandleServer:
		if !stream || info.connected {
			return bad("not a listening stream socket")
		}
		if !info.listening {
			if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
				return bad("not listening, and listen failed: " + err.Error())
			}
		}
		return fileListener(fd)
	case HandleDgram, HandleDgramNative:
		if info.kind != kindUDP {
			return bad("not a UDP socket")
		}
		f := fdFile(fd, "node-dgram")
		pc, err := net.FilePacketConn(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, err)
		}
		return pc, nil
	}
	return bad("of an unknown type")
}

// fileConn and fileListener wrap fd (and close it: the net values hold
// their own duplicate).
func fileConn(fd int) (any, error) {
	f := fdFile(fd, "node-socket")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, err)
	}
	return c, nil
}

func fileListener(fd int) (any, error) {
	f := fdFile(fd, "node-server")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHandle, err)
	}
	return l, nil
}

// writeHandle writes a handle frame with its fd attached to the first
// bytes (one sendmsg), and the rest, if the first write was partial,
// without it.
func (t *transport) writeHandle(h *handleSend) error {
	h.mu.Lock()
	if h.fd < 0 { // settled already (a hostile early reply): nothing to send
		h.mu.Unlock()
		return nil
	}
	n, _, err := t.uc.WriteMsgUnix(h.frame, unix.UnixRights(h.fd), nil)
	h.mu.Unlock()
	if err != nil {
		return err
	}
	for rest := h.frame[n:]; len(rest) > 0; {
		n, err := t.conn.Write(rest)
		if err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// listenHandle makes a listener of a received handle: a listener as is, or
// a bound socket (a cluster primary's shared handle), put in the listening
// state first. It takes ownership of h.
func listenHandle(h *Handle, backlog int) (net.Listener, error) {
	switch v := h.Value.(type) {
	case net.Listener:
		return v, nil
	case *os.File:
		rc, err := v.SyscallConn()
		if err == nil {
			var lerr error
			err = rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) })
			if err == nil {
				err = lerr
			}
		}
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("listen: %w", err)
		}
		l, err := net.FileListener(v)
		v.Close()
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	h.Close()
	return nil, fmt.Errorf("%w: %T is not a socket to listen on", ErrInvalidHandle, h.Value)
}
