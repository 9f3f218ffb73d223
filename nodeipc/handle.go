package nodeipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"nodeipc.dev/internal/jsontext"
)

// Handle errors. Test for them with errors.Is.
var (
	// ErrInvalidHandle means a handle that cannot travel: on Send, an fd of
	// a kind a Node peer would crash or jam on (a regular file, a datagram
	// Unix socket, anything but TCP, Unix stream, FIFO or UDP), or a Go
	// value with no fd; on Recv, a NODE_HANDLE that came without its fd, an
	// fd without a NODE_HANDLE, an unknown type, or an fd that does not
	// match its type. A received bad handle is reported as a *ProtocolError
	// wrapping ErrInvalidHandle; its fd, if any, has been closed.
	ErrInvalidHandle = errors.New("nodeipc: invalid handle")

	// ErrHandleNotAccepted means the peer answered NODE_HANDLE_NACK to a
	// handle and to each of its retransmissions (Node's limit is 3): the
	// handle did not arrive.
	ErrHandleNotAccepted = errors.New("nodeipc: handle not accepted by the peer")
)

// maxRetransmissions is how often a NACKed handle is sent again, as Node's
// MAX_HANDLE_RETRANSMISSIONS.
const maxRetransmissions = 3

// HandleType is the "type" of a NODE_HANDLE message: which Node object the
// handle stands for.
type HandleType string

// The handle types Node knows.
const (
	HandleSocket      HandleType = "net.Socket"   // a connected TCP or pipe stream (net.Conn)
	HandleServer      HandleType = "net.Server"   // a listening socket (net.Listener)
	HandleNative      HandleType = "net.Native"   // a raw TCP or pipe handle (cluster)
	HandleDgram       HandleType = "dgram.Socket" // a bound UDP socket (net.PacketConn)
	HandleDgramNative HandleType = "dgram.Native" // a raw UDP handle (cluster)
)

// Handle is a socket that travelled over the channel with a message.
//
// Value is the socket as a Go value, of one of these dynamic types:
//
//   - net.Conn for a connected TCP or Unix stream socket (net.Socket, or a
//     connected net.Native);
//   - net.Listener for a listening socket (net.Server, or a listening
//     net.Native). A net.Server that arrives bound but not listening is put
//     in the listening state first, as Node does;
//   - net.PacketConn for a UDP socket (dgram.Socket, dgram.Native);
//   - *os.File for a pipe (FIFO) and for a stream socket that is neither
//     connected nor listening (a bound net.Native).
//
// A net.Socket that came with a Key (a connection of a Node server) is a
// net.Conn wrapper whose Close also tells the channel, which answers the
// Node server's getConnections() and close() from these counts; it
// implements syscall.Conn and CloseWrite, but is not a *net.TCPConn.
//
// A received Handle belongs to whoever took it with Message.Handle, who
// must Close it (or send it on with SendHandle).
type Handle struct {
	Type      HandleType
	Key       string // net.Socket from a Node server: the server's connection key
	DgramType string // "udp4" or "udp6" for the dgram types
	Value     any
}

// Close closes the handle's Value.
func (h *Handle) Close() error {
	if c, ok := h.Value.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// HandleOptions tune SendHandle. A nil *HandleOptions means the defaults.
type HandleOptions struct {
	// KeepOpen leaves the caller's handle open after the peer acknowledged
	// it, as Node's keepOpen does. By default SendHandle closes it once the
	// peer has its own copy, so that the socket lives on in the peer only.
	KeepOpen bool
}

// SendHandle sends v together with a handle h, the way Node's
// send(message, handle) does. h is one of:
//
//   - a net.Conn over TCP or a Unix stream socket (sent as net.Socket);
//   - a net.Listener over TCP or a Unix stream socket (net.Server);
//   - a net.PacketConn over UDP (dgram.Socket, with dgramType udp4/udp6);
//   - an *os.File holding any of these, or a pipe (net.Socket);
//   - a *Handle received from a peer, sent on with its own type.
//
// Anything else, and any fd a Node peer would crash or jam on, is refused
// with an error wrapping ErrInvalidHandle before anything is written.
//
// SendHandle duplicates h's fd for the channel and returns when the peer
// has acknowledged the handle (NODE_HANDLE_ACK), or ctx is done, or the
// channel ends. Messages sent after the handle (by any goroutine) are held
// back until that acknowledgement, as Node does; the channel's own replies
// to the peer's handles are not, so two peers sending handles to each other
// cannot deadlock. A NACK makes the channel send the handle again, up to 3
// times, after which SendHandle returns an error wrapping
// ErrHandleNotAccepted.
//
// On success h is closed, unless opts.KeepOpen is set. On error the caller
// still owns h. If ctx ends before the handle was written, the message is
// withdrawn and nothing of it is sent; if it ends later, SendHandle returns
// ctx.Err() and the exchange completes in the background (the peer may
// then own a copy of the handle).
//
// Handles travel only over a Unix socket. On Windows (libuv passes
// sockets there with WSADuplicateSocket, which nodeipc does not do), and
// on a Channel over any other conn, SendHandle returns an error wrapping
// both ErrInvalidHandle and errors.ErrUnsupported, and a handle a peer
// sends is refused with NODE_HANDLE_NACK and reported to Recv.
func (c *Channel) SendHandle(ctx context.Context, v any, h any, opts *HandleOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.t.uc == nil {
		return fmt.Errorf("%w: handles need a Unix socket channel: %w", ErrInvalidHandle, errors.ErrUnsupported)
	}
	typ, value := HandleType(""), h
	if hh, ok := h.(*Handle); ok {
		if hh == nil {
			return fmt.Errorf("%w: nil *Handle", ErrInvalidHandle)
		}
		typ, value = hh.Type, hh.Value
	}
	fd, typ, dgramType, err := handleFD(value, typ)
	if err != nil {
		return err
	}
	frame, err := c.handleFrame(v, typ, dgramType)
	if err != nil {
		closeFD(fd)
		return err
	}
	hs := &handleSend{frame: frame, fd: fd, done: make(chan error, 1)}
	if err := c.out.enqueueHandle(hs); err != nil {
		return err
	}
	c.tok.reclaim() // the peer's ACK must be read even if nobody is in Recv
	select {
	case err = <-hs.done:
	case <-ctx.Done():
		// Withdrawn if not written yet; otherwise the peer's reply
		// settles it in the background.
		c.out.withdraw(hs)
		return ctx.Err()
	}
	if err == nil && (opts == nil || !opts.KeepOpen) {
		if cl, ok := value.(io.Closer); ok {
			_ = cl.Close()
		}
	}
	return err
}

// handleFrame encodes the NODE_HANDLE envelope for v as one frame.
func (c *Channel) handleFrame(v any, typ HandleType, dgramType string) ([]byte, error) {
	if c.opts.Serialization != JSON {
		env := map[string]any{"cmd": "NODE_HANDLE", "type": string(typ), "msg": v}
		if dgramType != "" {
			env["dgramType"] = dgramType
		}
		return c.encode(nil, env, nil)
	}
	msg, err := appendJSONLine(nil, v)
	if err != nil {
		return nil, err
	}
	msg = msg[:len(msg)-1]
	if cmd, internal := jsonInternalCmd(msg); internal {
		return nil, fmt.Errorf("%w: cmd %q is reserved for Node's internal messages", ErrInvalidMessage, cmd)
	}
	// Node's own property order: cmd, type, msg, then dgramType.
	b := make([]byte, 0, len(msg)+80)
	b = append(b, `{"cmd":"NODE_HANDLE","type":`...)
	b = jsontext.AppendString(b, string(typ))
	b = append(b, `,"msg":`...)
	b = append(b, msg...)
	if dgramType != "" {
		b = append(b, `,"dgramType":`...)
		b = jsontext.AppendString(b, dgramType)
	}
	return append(b, "}\n"...), nil
}

// handleSend is one outgoing handle message, from SendHandle until the
// peer's reply.
type handleSend struct {
	frame     []byte
	mu        sync.Mutex // held while the fd is being sent, and to close it
	fd        int        // the channel's duplicate; closed when the exchange ends
	tail      []byte     // frames queued after this one (written after its ACK)
	tries     int        // transmissions so far
	withdrawn bool
	done      chan error // receives the outcome once
}

// finish closes the fd and reports the outcome. Call once.
func (h *handleSend) finish(err error) {
	h.mu.Lock() // not while the writer is sending it (a reply that came too early)
	if h.fd >= 0 {
		closeFD(h.fd)
		h.fd = -1
	}
	h.mu.Unlock()
	h.done <- err
}

// handleEnvelope is a parsed NODE_HANDLE.
type handleEnvelope struct {
	typ       HandleType
	key       string
	dgramType string
	hasDgram  bool
	msg       []byte // the user message, encoded in the channel's mode
	internal  string // the msg's cmd when it is an internal message
}

// parseEnvelope reads a NODE_HANDLE message, unwrapping Node's
// double-wrapped retransmissions (a net.Native whose msg is itself a
// NODE_HANDLE).
func (c *Channel) parseEnvelope(m *Message) (handleEnvelope, error) {
	if m.mode != JSON {
		return c.parseEnvelopeV8(m)
	}
	var env handleEnvelope
	data := m.data
	for depth := 0; ; depth++ {
		var top map[string]json.RawMessage
		if err := decodeJSON(data, &top); err != nil {
			return env, err
		}
		var typ string
		if raw, ok := top["type"]; !ok || decodeJSON(raw, &typ) != nil {
			return env, errors.New("NODE_HANDLE without a string type")
		}
		msg := []byte(top["msg"])
		if len(msg) == 0 {
			msg = []byte("null") // undefined in Node
		}
		if cmd, ok := jsonInternalCmd(msg); ok && cmd == "NODE_HANDLE" && typ == string(HandleNative) && depth < 8 {
			data = msg
			continue
		}
		env.typ = HandleType(typ)
		env.msg = msg
		if raw, ok := top["key"]; ok {
			_ = decodeJSON(raw, &env.key)
		}
		if raw, ok := top["dgramType"]; ok {
			env.hasDgram = decodeJSON(raw, &env.dgramType) == nil
		}
		if cmd, ok := jsonInternalCmd(msg); ok {
			env.internal = cmd
		}
		return env, nil
	}
}

func (c *Channel) parseEnvelopeV8(m *Message) (handleEnvelope, error) {
	var env handleEnvelope
	var top map[string]any
	if err := decodeV8(m.data, &top); err != nil {
		return env, err
	}
	for depth := 0; ; depth++ {
		typ, _ := top["type"].(string)
		if typ == "" {
			return env, errors.New("NODE_HANDLE without a string type")
		}
		inner, _ := top["msg"].(map[string]any)
		if cmd, _ := inner["cmd"].(string); cmd == "NODE_HANDLE" && typ == string(HandleNative) && depth < 8 {
			top = inner
			continue
		}
		env.typ = HandleType(typ)
		env.key, _ = top["key"].(string)
		env.dgramType, env.hasDgram = top["dgramType"].(string)
		if cmd, _ := inner["cmd"].(string); isInternalCmd(cmd) {
			env.internal = cmd
		}
		msg, err := appendV8(nil, top["msg"])
		if err != nil {
			return env, err
		}
		env.msg = msg
		return env, nil
	}
}

// keyedConn is a received net.Socket that belongs to a Node server's
// connection list (it came with a key): closing it tells the channel, which
// answers the server's getConnections() and close() from these counts.
type keyedConn struct {
	net.Conn
	once  sync.Once
	onEnd func()
}

func (k *keyedConn) Close() error {
	err := k.Conn.Close()
	k.once.Do(k.onEnd)
	return err
}

// SyscallConn gives access to the socket, so the conn can be sent on.
func (k *keyedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := k.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// CloseWrite shuts down the writing side, when the socket supports it.
func (k *keyedConn) CloseWrite() error {
	if cw, ok := k.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// socketKeys counts open received sockets per key, for NODE_SOCKET_*.
type socketKeys struct {
	mu      sync.Mutex
	count   map[string]int
	waiting map[string]bool // NODE_SOCKET_NOTIFY_CLOSE pending
}

func (c *Channel) keyOpened(key string) {
	k := &c.keys
	k.mu.Lock()
	if k.count == nil {
		k.count = map[string]int{}
		k.waiting = map[string]bool{}
	}
	k.count[key]++
	k.mu.Unlock()
}

func (c *Channel) keyClosed(key string) {
	k := &c.keys
	k.mu.Lock()
	k.count[key]--
	notify := k.count[key] == 0 && k.waiting[key]
	if notify {
		delete(k.waiting, key)
	}
	k.mu.Unlock()
	if notify {
		_ = c.sendInternal(jsonObject{"cmd": "NODE_SOCKET_ALL_CLOSED", "key": key})
	}
}

// socketMessage answers NODE_SOCKET_GET_COUNT and NODE_SOCKET_NOTIFY_CLOSE
// for keys this channel has received sockets for (as Node, it ignores
// other keys).
func (c *Channel) socketMessage(cmd string, m *Message) {
	var req struct {
		Key string `json:"key"`
	}
	if m.Decode(&req) != nil {
		return
	}
	k := &c.keys
	k.mu.Lock()
	n, known := k.count[req.Key]
	allClosed := false
	if known && cmd == "NODE_SOCKET_NOTIFY_CLOSE" {
		if n == 0 {
			allClosed = true
		} else {
			k.waiting[req.Key] = true
		}
	}
	k.mu.Unlock()
	switch {
	case !known:
	case cmd == "NODE_SOCKET_GET_COUNT":
		_ = c.sendInternal(jsonObject{"cmd": "NODE_SOCKET_COUNT", "key": req.Key, "count": n})
	case allClosed:
		_ = c.sendInternal(jsonObject{"cmd": "NODE_SOCKET_ALL_CLOSED", "key": req.Key})
	}
}

// newRecvHandle turns a received fd into a Handle, or closes it.
func (c *Channel) newRecvHandle(fd int, env handleEnvelope) (*Handle, error) {
	h := &Handle{Type: env.typ, Key: env.key, DgramType: env.dgramType}
	switch env.typ {
	case HandleDgram:
		if !env.hasDgram || (env.dgramType != "udp4" && env.dgramType != "udp6") {
			closeFD(fd)
			return nil, fmt.Errorf("%w: dgram.Socket without a valid dgramType", ErrInvalidHandle)
		}
	case HandleSocket, HandleServer, HandleNative, HandleDgramNative:
	default:
		closeFD(fd)
		return nil, fmt.Errorf("%w: unknown handle type %q", ErrInvalidHandle, env.typ)
	}
	v, err := fdValue(fd, env.typ)
	if err != nil {
		return nil, err
	}
	h.Value = v
	if env.typ == HandleSocket && env.key != "" {
		if conn, ok := v.(net.Conn); ok {
			key := env.key
			c.keyOpened(key)
			h.Value = &keyedConn{Conn: conn, onEnd: func() { c.keyClosed(key) }}
		}
	}
	return h, nil
}

// fdFile wraps a received fd in an *os.File.
func fdFile(fd int, name string) *os.File { return os.NewFile(uintptr(fd), name) }
