package nodeipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// errClosed is returned by Send, Recv and Flush after Close or Disconnect.
var errClosed = fmt.Errorf("nodeipc: channel closed: %w", net.ErrClosed)

// Channel is one end of a Node.js IPC channel.
//
// Send, Flush, CloseWrite, Disconnect and Close are safe for concurrent use.
// Recv may be called from several goroutines, but each message goes to one
// caller, so the order between callers is not defined; use one receiving
// goroutine to keep the order.
//
// A Channel reads in the background: internal NODE_* messages are handled as
// they arrive, and user messages are queued (up to a bound, after which the
// kernel's socket buffer pushes back on the peer) until Recv takes them.
// While Recv is being called, the goroutine in Recv does the reading itself
// and writes the replies Send queued in between, so a request/response loop
// runs on one goroutine without hand-offs; the background goroutine takes
// over when Recv is not called for a while (docs/design.md in the
// repository tells the whole story).
//
// A Channel owns two goroutines, its reader and its writer; Close must be
// called to release the socket and join them.
type Channel struct {
	t    transport
	opts Options

	out    outbox     // frames on their way to the socket, and the writer goroutine
	in     inbox      // received messages waiting for Recv
	rd     *reader    // framing state, used by whoever holds the read token
	tok    readToken  // who reads: the background reader or a Recv call
	readMu sync.Mutex // held while reading, so Close can wait for a Recv's read

	spare atomic.Pointer[sendState] // for Send

	closing   chan struct{} // closed when Close or Disconnect starts
	done      chan struct{} // closed when the channel has ended (EOF or close)
	doneOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // reader and writer goroutines

	keys socketKeys // received sockets per key, for NODE_SOCKET_*

	// cluster, when set, receives NODE_CLUSTER messages (with the handle
	// that came with one, if any).
	clusterMu sync.Mutex
	cluster   func(m *Message, h *Handle)

	// onInternal, when set before the goroutines start, sees every
	// internal message after the channel has handled it.
	onInternal func(cmd string, m *Message)
}

// NewChannel returns a Channel over conn, a connected stream to the peer
// (normally a *net.UnixConn). It starts the channel's reader and writer
// goroutines; Close stops them and closes conn.
//
// Handles (file descriptors) can only travel over a *net.UnixConn; on any
// other conn the channel carries messages only. On Linux the channel takes
// a *net.UnixConn's socket over at once: it keeps a duplicate of the
// descriptor, outside the runtime's network poller, and closes conn, which
// must not be used again.
func NewChannel(conn io.ReadWriteCloser, opts *Options) (*Channel, error) {
	if conn == nil {
		return nil, errors.New("nodeipc: NewChannel: nil conn")
	}
	o := opts.withDefaults()
	if o.Serialization != JSON && o.Serialization != Advanced {
		return nil, fmt.Errorf("%w: unknown serialization %d", ErrInvalidChannel, int(o.Serialization))
	}
	c := &Channel{
		opts:    o,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.t.init(conn)
	c.in.init()
	c.tok.init(&c.t, c.closing, c.in.ended)
	var recv recvSide
	if c.tok.lend {
		recv = c
	}
	c.out.init(o.SendQueueSize, &c.t, c.closing, recv)
	c.rd = &reader{c: c, buf: make([]byte, readBufSize)}
	c.rd.unpooled.seen, c.rd.unpooled.shared = &c.rd.released, true
	if c.t.uc != nil {
		c.rd.oob = make([]byte, oobSize)
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.out.run()
	}()
	go c.readLoop()
	return c, nil
}

// recvWillReturn and backlog tell the outbox about the receiving side (see
// recvSide).
func (c *Channel) recvWillReturn() bool { return c.tok.state.Load() == tokIdle }
func (c *Channel) backlog() bool        { return c.in.avail.Load() > 0 }

// Serialization returns the channel's wire format.
func (c *Channel) Serialization() Serialization { return c.opts.Serialization }

// Done returns a channel that is closed when the channel has ended: the peer
// disconnected, or Close or Disconnect was called. Messages that arrived
// before the end can still be received with Recv.
func (c *Channel) Done() <-chan struct{} { return c.done }

func (c *Channel) markDone() { c.doneOnce.Do(func() { close(c.done) }) }

// Send encodes v and queues it for the peer. It returns once the message is
// queued, which is normally at once; it blocks (until ctx is done) only while
// more than Options.SendQueueSize bytes are waiting for a slow peer. Messages
// leave in the order their Send calls returned, each one intact, and many
// small messages queued together leave in few writes. Use Flush to wait until
// they are written, and Disconnect or Close to flush before closing.
//
// A *Message (one received from any channel) is forwarded as it arrived,
// byte for byte, when the serializations match, and re-encoded otherwise.
//
// In json mode v is encoded as JSON.stringify would: NaN and ±Infinity become
// null, HTML characters are not escaped, and a json.RawMessage is sent as is
// after validation. A value that would be an internal message on the peer
// (an object whose "cmd" starts with "NODE_") is refused, because Node would
// not deliver it and may crash on it. Encoding errors wrap ErrInvalidMessage
// and leave the channel usable.
//
// After the peer has gone Send returns an error wrapping ErrDisconnected;
// after Close it returns an error wrapping net.ErrClosed.
func (c *Channel) Send(ctx context.Context, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := c.getSendState()
	frame, err := c.encode(st.buf[:0], v, st)
	if err == nil && mayBeInternal(v) {
		err = c.checkUserMessage(frame)
	}
	if err != nil {
		c.putSendState(st, frame)
		return err
	}
	err = c.out.enqueue(ctx, frame)
	if len(frame) > smallFrame {
		frame = nil // the queue keeps large frames as they are
	}
	c.putSendState(st, frame)
	return err
}

// sendState is what Send encodes with: a buffer (the queue copies small
// frames out of it) and, in json mode, an encoder. A Channel keeps one
// spare, so a lone sender reuses the same one without a pool's cost.
type sendState struct {
	buf []byte
	enc *jsonEncoder
}

var sendStates = sync.Pool{New: func() any { return &sendState{buf: make([]byte, 0, 512)} }}

func (c *Channel) getSendState() *sendState {
	if st := c.spare.Swap(nil); st != nil {
		return st
	}
	return sendStates.Get().(*sendState)
}

// putSendState keeps st for reuse with buf (nil if the queue kept it).
func (c *Channel) putSendState(st *sendState, buf []byte) {
	if cap(buf) > 64<<10 {
		buf = nil
	}
	st.buf = buf[:0]
	if !c.spare.CompareAndSwap(nil, st) {
		sendStates.Put(st)
	}
}

// encode appends one complete frame (a JSON line, or a length-prefixed V8
// payload) for v to dst, with st's encoder if st is not nil.
func (c *Channel) encode(dst []byte, v any, st *sendState) ([]byte, error) {
	if m, ok := v.(*Message); ok && m != nil {
		if m.mode == c.opts.Serialization {
			return appendFrame(dst, m.mode, m.data), nil
		}
		var decoded any
		if err := m.Decode(&decoded); err != nil {
			return dst, err
		}
		v = decoded
	}
	if c.opts.Serialization == JSON {
		if st == nil {
			return appendJSONLine(dst, v)
		}
		if st.enc == nil {
			st.enc = newJSONEncoder()
		}
		return st.enc.appendLine(dst, v)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	out, err := appendV8(dst, v)
	if err != nil {
		return dst[:start], err
	}
	n := len(out) - start - 4
	if n >= 1<<31 {
		return dst[:start], fmt.Errorf("%w: advanced frame of %d bytes (Node reads at most 2 GiB - 1)", ErrMessageTooLarge, n)
	}
	out[start], out[start+1], out[start+2], out[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return out, nil
}

// appendFrame appends an already encoded (and checked) message as a frame.
func appendFrame(dst []byte, mode Serialization, data []byte) []byte {
	if mode == JSON {
		dst = append(dst, data...)
		return append(dst, '\n')
	}
	n := len(data)
	dst = append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(dst, data...)
}

// checkUserMessage refuses user messages that Node would treat as internal.
func (c *Channel) checkUserMessage(frame []byte) error {
	var cmd string
	var internal bool
	if c.opts.Serialization == JSON {
		cmd, internal = jsonInternalCmd(frame[:len(frame)-1])
	} else {
		cmd, internal = v8InternalCmd(frame[4:])
	}
	if internal {
		return fmt.Errorf("%w: cmd %q is reserved for Node's internal messages", ErrInvalidMessage, cmd)
	}
	return nil
}

// sendInternal queues a message of the library's own (a cluster message, a
// NODE_SOCKET_* reply), skipping the user-message checks.
func (c *Channel) sendInternal(v any) error {
	frame, err := c.encode(nil, v, nil)
	if err != nil {
		return err
	}
	return c.out.enqueue(context.Background(), frame)
}

// Recv returns the next user message from the peer. It blocks until one
// arrives, ctx is done, or the channel ends.
//
// A message may carry a handle (see Message.Handle). A handle the caller
// has not taken when Recv is called again is closed by the channel. A
// caller done with a message can give its memory back with
// Message.Release.
//
// Bad input on the wire is returned as a *ProtocolError; the offending
// message has been skipped and the next call returns the next message. When
// the peer has disconnected, Recv first returns every message that arrived
// before the end, then an error wrapping ErrDisconnected. After Close it
// returns an error wrapping net.ErrClosed.
func (c *Channel) Recv(ctx context.Context) (*Message, error) {
	for {
		if m, err, ok := c.in.take(c.closing); ok {
			return m, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.tok.takeForRecv() {
			if err := c.recvRead(ctx); err != nil {
				return nil, err
			}
			continue
		}
		c.tok.waiters.Add(1)
		err := c.in.wait(ctx, c.closing, c.tok.lentCh)
		c.tok.waiters.Add(-1)
		if err != nil {
			return nil, err
		}
	}
}

// recvRead is a Recv call holding the read token: it writes what Sends
// deferred, reads once and queues what came, then gives the token back to
// Recv calls. ctx interrupts the read. It returns a non-nil error only when
// ctx is done.
func (c *Channel) recvRead(ctx context.Context) error {
	done := ctx.Done()
	if done != nil && !c.tok.watchContext(ctx, done) {
		c.tok.recvDone()
		return ctx.Err()
	}
	c.out.writeDeferred()
	c.readMu.Lock()
	err := c.rd.step(true)
	c.readMu.Unlock()
	if done != nil {
		c.tok.readDone()
	}
	c.tok.recvDone()
	switch {
	case err == errInterrupted:
		return ctx.Err()
	case err != nil:
		c.endRead(err)
	}
	return nil
}

// Flush blocks until every message queued by Send before the call has been
// written to the socket, or ctx is done. It returns the error that stopped
// the writer, if any.
func (c *Channel) Flush(ctx context.Context) error {
	return c.out.flush(ctx)
}

// CloseWrite ends the sending side only: it stops accepting new messages,
// waits until every queued message has been written (or ctx is done), then
// shuts down the socket for writing. The peer reads every message and then
// EOF — a Node peer treats that as 'disconnect' and closes its end — while
// Recv goes on returning the peer's messages until it does. Messages the peer
// sends in reply to the last ones are therefore not lost, which they would be
// with Disconnect. Close must still be called to release the channel.
//
// A conn that cannot be half-closed, such as Windows' named pipe, makes
// CloseWrite return an error wrapping errors.ErrUnsupported at once, with
// the channel untouched.
func (c *Channel) CloseWrite(ctx context.Context) error {
	cw, ok := c.t.conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("nodeipc: CloseWrite: %w", errors.ErrUnsupported)
	}
	c.out.stopAccepting()
	if err := c.out.flush(ctx); err != nil {
		return err
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("nodeipc: CloseWrite: %w", err)
	}
	return nil
}

// Disconnect ends the channel gracefully, as Node's disconnect() does, but
// without losing data: it stops accepting new messages, waits until every
// message already queued has been written (or ctx is done), then closes the
// socket and joins the channel's goroutines. The peer receives every message
// and then EOF. Disconnect and Close are idempotent and share one result: the
// first call does the work and later calls return its error.
func (c *Channel) Disconnect(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.shutdown(ctx) })
	return c.closeErr
}

// Close is Disconnect bounded by Options.CloseTimeout: queued messages are
// flushed for at most that long, then the socket is closed regardless. Close
// returns when every goroutine of the channel has exited. It is idempotent
// and returns the same error on every call.
func (c *Channel) Close() error {
	c.closeOnce.Do(func() {
		ctx := context.Background()
		var cancel context.CancelFunc = func() {}
		if c.opts.CloseTimeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, c.opts.CloseTimeout)
		} else {
			ctx, cancel = context.WithCancel(ctx)
			cancel()
		}
		defer cancel()
		c.closeErr = c.shutdown(ctx)
	})
	return c.closeErr
}

func (c *Channel) shutdown(ctx context.Context) error {
	var first error
	// Stop new sends, then flush what is queued.
	c.out.stopAccepting()
	if err := c.out.flush(ctx); err != nil && !errors.Is(err, ErrDisconnected) {
		first = fmt.Errorf("nodeipc: close: flush: %w", err)
	}
	close(c.closing)
	c.markDone()
	c.tok.interrupt()
	if err := c.t.conn.Close(); err != nil && first == nil && !errors.Is(err, net.ErrClosed) {
		first = fmt.Errorf("nodeipc: close: %w", err)
	}
	c.out.wake()
	c.wg.Wait()
	// A Recv call may still be in a read (failing, the socket is closed).
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.tok.close()
	c.rd.closeFDs()
	c.in.dropHandles()
	return first
}

// classifyIOError maps the errors that mean "the peer is gone" to
// ErrDisconnected and keeps the cause.
func classifyIOError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || isConnGone(err) {
		return fmt.Errorf("%w (%w)", ErrDisconnected, err)
	}
	return err
}
