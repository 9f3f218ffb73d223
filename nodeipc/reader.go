package nodeipc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"nodeipc.dev/internal/jsontext"
)

const (
	readBufSize = 64 << 10 // what one read asks for, like libuv's 64 KiB
	// streamBufSize is what one read asks for on a channel whose reads keep
	// filling readBufSize: a peer streaming faster than it is read. Taking
	// more of the socket per read frees a blocked sender sooner (Node waits
	// until its socket buffer is three quarters drained) and costs fewer
	// system calls per message.
	streamBufSize = 256 << 10
	// streamAfter and calmAfter are how many reads in a row that fill the
	// buffer, or that use less than a quarter of it, switch to
	// streamBufSize and back.
	streamAfter = 1
	calmAfter   = 64
	// handOver is the size from which a batch of received bytes is handed
	// to the messages as it is, instead of being copied out of the read
	// buffer.
	handOver = 256 << 10
	// maxQueuedFDs bounds received fds that no NODE_HANDLE claimed.
	maxQueuedFDs = 64
)

// span is one received message or error, located in the read buffer, or
// a message built by the reader (one that came with a handle).
type span struct {
	start, end int // message bytes in buf
	err        error
	m          *Message
}

// reader holds the state of the reader goroutine.
type reader struct {
	c      *Channel
	buf    []byte
	start  int   // first unconsumed byte in buf
	end    int   // end of data in buf
	offset int64 // stream offset of buf[start]
	spans  []span
	items  []recvItem // deliver's scratch
	oob    []byte
	// released is set once the caller has released a message (see
	// Message.Release): chunks are then sized for recycling.
	released atomic.Bool
	unpooled chunk // the stand-in chunk of messages until then
	// spare is a read buffer handed over whole to large messages (see
	// handOver) and released since: the next hand-over reuses it.
	spare  atomic.Pointer[chunk]
	msgEnd int // in buf, just after the message being classified
	// fds received and not yet claimed by a NODE_HANDLE, and what the
	// last read brought (see fds.go).
	fds     []recvFD
	got     fdBatch
	badTake bool // takeFD found the fds of the read bad (reported already)
	// hint is the buffer size the last large message needed: a new buffer
	// starts at that size instead of regrowing by doubling for each one.
	hint int
	// full and calm count the reads in a row that filled the space they
	// were given, and that used less than a quarter of it (streamBufSize).
	full, calm int

	// pol decides whether a Recv call reading (not the background reader)
	// polls an empty socket before parking (poll.go).
	pol pollPolicy

	// Framing state between steps.
	scanned  int  // json: bytes after start known to hold no '\n'
	skipping bool // json: inside an oversized line
	skip     int  // advanced: payload bytes of an oversized frame still to discard
	need     int  // advanced: bytes the frame in progress needs in all (0 if unknown)
}

// readLoop is the background reader. While it holds the read token it
// reads, frames, classifies and queues messages; when a Recv call asks for
// the token it lends it and watches it until it comes back (see token.go).
// It exits when the peer disconnects or the channel is closed.
func (c *Channel) readLoop() {
	defer c.wg.Done()
	for {
		if c.tok.wanted() {
			if !c.tok.lendAndWatch() {
				return
			}
			c.out.wake() // Sends may have left messages for a Recv call to write
			continue
		}
		c.readMu.Lock()
		err := c.rd.step(false)
		c.readMu.Unlock()
		if err == errInterrupted {
			if !c.tok.wanted() {
				c.tok.dropDeadline() // not set for us: never spin on it
			}
			continue // if wanted, lent at the top of the loop
		}
		if err != nil {
			c.endRead(err)
			return
		}
		if !c.in.waitSpace(c.closing, c.tok.wantCh) {
			c.endRead(errClosed)
			return
		}
	}
}

// endRead ends the stream with err (the first call wins): Recv returns err
// once the queue is drained, and Done is closed.
func (c *Channel) endRead(err error) {
	select {
	case <-c.closing:
		err = errClosed
	default:
	}
	if !c.in.finish(err) {
		return
	}
	c.tok.interrupt()
	// A peer that only shut down its sending side (CloseWrite) can still
	// read: keep the writer going; otherwise nobody will read what is queued.
	if errors.Is(err, errClosed) || !errors.Is(err, ErrDisconnected) || c.t.peerClosed() {
		c.out.fail(err)
	}
	c.markDone()
}

// fill reads once into buf[end:], growing or compacting buf first if there
// is no room. need is how many bytes the current message needs in all (0 if
// unknown); polling, whether an empty socket is polled before parking (for
// a Recv call reading).
func (r *reader) fill(need int, polling bool) error {
	size := r.streamSize()
	if size == len(r.buf) && r.end == len(r.buf) && (r.end-r.start)*2 > size {
		size = max(r.grown(need), r.hint)
	}
	if size != len(r.buf) || r.end == len(r.buf) {
		// Move what is pending to the front, in a new buffer if the size
		// changes.
		nb := r.buf
		if size != len(r.buf) {
			nb = make([]byte, size)
		}
		n := copy(nb, r.buf[r.start:r.end])
		r.buf, r.start, r.end = nb, 0, n
	}
	space := len(r.buf) - r.end
	var n int
	var err error
	if polling {
		n, err = r.c.t.readPolling(r.buf[r.end:], r.oob, &r.pol, &r.got)
	} else {
		n, err = r.c.t.read(r.buf[r.end:], r.oob, &r.got)
	}
	if n < 0 { // some platforms report -1 with an error
		n = 0
	}
	switch {
	case n == space:
		r.full++
		r.calm = 0
	case n < space/4:
		r.full = 0
		r.calm++
	default:
		r.full = 0
		r.calm = 0
	}
	r.end += n
	if len(r.got.fds) > 0 || r.got.trunc {
		r.queueFDs(n)
	}
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errInterrupted
	}
	return err
}

// grown returns the size for a full buffer that holds mostly one message
// in progress, which needs need bytes in all (0 if unknown).
//
// The buffer doubles, not to a declared size at once, so a hostile length
// costs memory only as its bytes arrive. But the buffers left behind are
// not reused for the larger ones that follow, and the runtime returns them
// to the system only later: doubling all the way up to a message of the
// limit's size would hold about twice the limit, and a json line passing
// it half as much again. So once the next size reaches a quarter of the
// top (the declared frame, or a json line of the limit and its newline),
// the buffer goes to the top at once: everything it held on the way adds
// up to less than half the top, and the limit is checked before the buffer
// would grow past it.
func (r *reader) grown(need int) int {
	size := len(r.buf) * 2
	top := need
	if top == 0 && r.c.opts.Serialization == JSON {
		top = r.c.opts.MaxMessageSize + 1
	}
	if top > len(r.buf) && size >= top/4 {
		return top
	}
	return size
}

// discard drops n bytes at the start of the buffer (used while skipping).
func (r *reader) discard(n int) {
	r.start += n
	r.offset += int64(n)
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
}

// streamSize returns the size the buffer should have for the next read: a
// buffer of a standard size switches between readBufSize and streamBufSize
// as the last reads call for (see streamBufSize), and the counts start
// again; any other size stays.
func (r *reader) streamSize() int {
	size := len(r.buf)
	switch {
	case size == readBufSize && r.full >= streamAfter:
		size = streamBufSize
	case size == streamBufSize && r.calm >= calmAfter && r.end-r.start <= readBufSize/2:
		size = readBufSize
	default:
		return size
	}
	r.full, r.calm = 0, 0
	return size
}

// shrink releases a large buffer once it is empty.
func (r *reader) shrink() {
	if r.start == r.end {
		r.start, r.end = 0, 0
		if len(r.buf) > 4*readBufSize && r.hint < len(r.buf)/2 {
			r.buf = make([]byte, readBufSize)
		}
	}
}

// deliver turns the spans found in this read into Messages and errors and
// queues them for Recv. Message bytes are copied out of the read buffer in
// one allocation, or, for large batches, the buffer itself is handed over.
func (r *reader) deliver(mode Serialization) {
	if len(r.spans) == 0 {
		return
	}
	lo, hi := -1, 0
	users := 0
	for _, s := range r.spans {
		if s.err == nil && s.m == nil {
			if lo < 0 {
				lo = s.start
			}
			hi = s.end
			users++
		}
	}
	var mem []byte
	var ck *chunk
	base := 0
	if users > 0 {
		if hi-lo >= handOver && hi-lo >= len(r.buf)/2 {
			mem, ck = r.buf, &r.unpooled
			size := max(readBufSize, r.end-r.start, r.hint)
			var nb []byte
			if r.released.Load() {
				// The buffer goes back to r.spare when its messages are
				// released, and the last one released is reused here.
				ck = &chunk{buf: r.buf, seen: &r.released, spare: &r.spare}
				ck.refs.Store(int32(users))
				if sp := r.spare.Swap(nil); sp != nil && cap(sp.buf) >= size {
					nb = sp.buf[:cap(sp.buf)]
				}
			}
			// Keep the unconsumed tail in a fresh buffer.
			if nb == nil {
				nb = make([]byte, size)
			}
			copy(nb, r.buf[r.start:r.end])
			r.buf = nb
			r.end -= r.start
			r.start = 0
		} else {
			if r.released.Load() && hi-lo >= 1<<(minChunkShift-1) {
				ck = newChunk(hi-lo, users, &r.released)
				mem = ck.buf
			} else {
				ck = &r.unpooled
				mem = make([]byte, hi-lo)
			}
			copy(mem, r.buf[lo:hi])
			base = lo
		}
	}
	if users > 0 && hi-lo >= handOver {
		r.hint = hi - lo + readBufSize // room for the next one like it
	} else if hi-lo < readBufSize {
		r.hint /= 2 // small messages again: let the buffer shrink
	}
	msgs := make([]Message, users)
	items := r.items[:0]
	i := 0
	for _, s := range r.spans {
		if s.err != nil || s.m != nil {
			items = append(items, recvItem{m: s.m, err: s.err})
			continue
		}
		m := &msgs[i]
		i++
		m.data = mem[s.start-base : s.end-base : s.end-base]
		m.mode = mode
		m.ck = ck
		items = append(items, recvItem{m: m})
	}
	clear(r.spans)
	r.spans = r.spans[:0]
	r.c.in.push(items) // copies items
	clear(items)
	r.items = items[:0]
}

// nodeHandleJSON is how every NODE_HANDLE Node writes in json mode begins.
var nodeHandleJSON = []byte(`{"cmd":"NODE_HANDLE"`)

// nackOversized answers NODE_HANDLE_NACK when the oversized message being
// skipped, of which prefix is the start, is a NODE_HANDLE: otherwise the
// sender would wait for an answer forever and send nothing more (with a
// NACK, Node retransmits a socket up to three times, then gives up with a
// warning and goes on). It returns a note for the error.
func (r *reader) nackOversized(prefix []byte) string {
	handle := false
	if r.c.opts.Serialization == JSON {
		handle = bytes.HasPrefix(prefix, nodeHandleJSON)
	} else {
		cmd, ok := v8InternalCmd(prefix)
		handle = ok && cmd == "NODE_HANDLE"
	}
	if !handle {
		return ""
	}
	r.c.reply(false)
	return " (a NODE_HANDLE: answered NODE_HANDLE_NACK)"
}

// step reads once and queues what the read completed. It returns nil to go
// on, errInterrupted if the read was interrupted before any byte came (the
// token is wanted elsewhere, or a Recv's context is done), or the error that
// ended the stream. polling is for a Recv call reading (see fill).
func (r *reader) step(polling bool) error {
	if r.c.opts.Serialization == JSON {
		return r.stepJSON(polling)
	}
	return r.stepAdvanced(polling)
}

func (r *reader) stepJSON(polling bool) error {
	max := r.c.opts.MaxMessageSize
	err := r.fill(0, polling)
	if err == errInterrupted {
		return err
	}
	for {
		i := bytes.IndexByte(r.buf[r.start+r.scanned:r.end], '\n')
		if i < 0 {
			r.scanned = r.end - r.start
			break
		}
		lineEnd := r.start + r.scanned + i
		if r.skipping {
			r.skipping = false
		} else {
			r.msgEnd = lineEnd + 1
			r.jsonLine(r.start, lineEnd, max)
		}
		r.offset += int64(lineEnd + 1 - r.start)
		r.start = lineEnd + 1
		r.scanned = 0
	}
	if r.skipping {
		r.discard(r.end - r.start)
		r.scanned = 0
	} else if r.end-r.start > max {
		r.spans = append(r.spans, span{err: protoErr("read", r.offset, r.buf[r.start:r.end], ErrMessageTooLarge,
			"message longer than the limit of %d bytes%s", max, r.nackOversized(jsontext.TrimSpace(r.buf[r.start:r.end])))})
		r.skipping = true
		r.discard(r.end - r.start)
		r.scanned = 0
	}
	if len(r.fds) > 0 {
		r.dropStrayFDs(r.offset)
	}
	r.deliver(JSON)
	if err != nil {
		if r.end > r.start && !r.skipping {
			if len(jsontext.TrimSpace(r.buf[r.start:r.end])) > 0 {
				perr := protoErr("read", r.offset, r.buf[r.start:r.end], io.ErrUnexpectedEOF,
					"the peer closed the channel in the middle of a message (%d bytes without a newline)", r.end-r.start)
				r.c.in.push([]recvItem{{err: perr}})
			}
		}
		return classifyIOError(err)
	}
	r.shrink()
	return nil
}

// jsonLine classifies one line, buf[start:end] without its newline.
func (r *reader) jsonLine(start, end, max int) {
	off := r.offset + int64(start-r.start)
	line := r.buf[start:end]
	// Trim JSON whitespace (this also drops a \r before the newline).
	for len(line) > 0 && jsontext.IsSpace(line[0]) {
		line = line[1:]
		start++
	}
	for len(line) > 0 && jsontext.IsSpace(line[len(line)-1]) {
		line = line[:len(line)-1]
		end--
	}
	switch {
	case len(line) == 0:
		r.spans = append(r.spans, span{err: protoErr("read", off, r.buf[start:end], ErrInvalidMessage, "empty line")})
		return
	case len(line) > max:
		r.spans = append(r.spans, span{err: protoErr("read", off, line, ErrMessageTooLarge,
			"message of %d bytes is over the limit of %d bytes%s", len(line), max, r.nackOversized(line))})
		return
	}
	// One pass validates the JSON and the UTF-8 and notes a top-level "cmd".
	scan := jsontext.Scan(line)
	if scan.ErrAt >= 0 {
		r.spans = append(r.spans, span{err: protoErr("read", off, line, ErrInvalidMessage,
			"%s at byte %d of the message", scan.Reason, scan.ErrAt)})
		return
	}
	if scan.Cmd {
		if cmd, ok := jsonInternalCmd(line); ok {
			r.internal(cmd, &Message{data: bytes.Clone(line), mode: JSON}, off)
			return
		}
	}
	r.spans = append(r.spans, span{start: start, end: end})
}

func (r *reader) stepAdvanced(polling bool) error {
	max := r.c.opts.MaxMessageSize
	readErr := r.fill(r.need, polling)
	if readErr == errInterrupted {
		return readErr
	}
	r.need = 0
	// Frame as much as is buffered.
	for {
		if r.skip > 0 {
			n := min(r.skip, r.end-r.start)
			r.discard(n)
			r.skip -= n
			if r.skip > 0 {
				break
			}
		}
		if r.end-r.start < 4 {
			break
		}
		b := r.buf[r.start:r.end]
		n := int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		if n > max {
			r.spans = append(r.spans, span{err: protoErr("read", r.offset, b[:4], ErrMessageTooLarge,
				"frame of %d bytes is over the limit of %d bytes%s", n, max, r.nackOversized(b[4:min(len(b), 4+n)]))})
			r.discard(4)
			r.skip = n
			continue
		}
		if len(b) < 4+n {
			r.need = 4 + n
			break
		}
		payload := b[4 : 4+n]
		r.msgEnd = r.start + 4 + n
		if err := checkV8Header(payload); err != nil {
			r.spans = append(r.spans, span{err: protoErr("read", r.offset, b[:4+n], ErrInvalidMessage, "%v", err)})
		} else if cmd, ok := v8InternalCmd(payload); ok {
			r.internal(cmd, &Message{data: bytes.Clone(payload), mode: Advanced}, r.offset)
		} else {
			r.spans = append(r.spans, span{start: r.start + 4, end: r.start + 4 + n})
		}
		r.start += 4 + n
		r.offset += int64(4 + n)
	}
	if len(r.fds) > 0 && r.skip == 0 {
		r.dropStrayFDs(r.offset)
	}
	r.deliver(Advanced)
	if readErr != nil {
		if r.end > r.start || r.skip > 0 {
			perr := protoErr("read", r.offset, r.buf[r.start:r.end], io.ErrUnexpectedEOF,
				"the peer closed the channel in the middle of a frame (%d bytes buffered)", r.end-r.start)
			r.c.in.push([]recvItem{{err: perr}})
		}
		return classifyIOError(readErr)
	}
	r.shrink()
	return nil
}

// checkV8Header checks the version header Node's deserializer requires.
func checkV8Header(p []byte) error {
	switch {
	case len(p) == 0:
		return errors.New("empty frame")
	case p[0] != 0xFF:
		return fmt.Errorf("no V8 version header (first byte 0x%02x)", p[0])
	case len(p) < 2:
		return errors.New("frame holds only a header")
	case p[1] < 13 || p[1] > 15:
		return fmt.Errorf("unsupported V8 serialization version %d (Node reads 13 to 15)", p[1])
	case len(p) < 3:
		return errors.New("frame holds only a header")
	}
	return nil
}
