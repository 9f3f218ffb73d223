package nodeipc

import (
	"encoding/binary"
	"fmt"
)

// libuv's IPC frames, the channel's framing on Windows (PROTOCOL.md §9).
// Node's channel there is a named pipe, and libuv puts a 16-byte header in
// front of every write, in both directions:
//
//	flags u32 LE | reserved1 u32 | payload length u32 LE | reserved2 u32 (0)
//
// flags: 0x01 a payload follows, 0x02 a socket's transfer information (632
// bytes) comes before the payload, 0x04 that socket is a connection. What
// the payloads carry, in order, is the byte stream the channel reads
// everywhere else: json lines or length-prefixed advanced frames. The frame
// code is portable so that it is tested (and fuzzed) on every system.
const (
	frameHeaderSize   = 16
	frameHasData      = 0x01
	frameHasSocket    = 0x02
	frameSocketIsConn = 0x04
	frameValidFlags   = frameHasData | frameHasSocket | frameSocketIsConn
	// frameSocketInfoSize is libuv's uv__ipc_socket_xfer_info_t: a
	// WSAPROTOCOL_INFOW and a delayed error.
	frameSocketInfoSize = 632
	// maxFramePayload bounds the payload of one frame we write. libuv
	// accepts up to 4 GiB - 1; a larger write is split into frames, which
	// the peer joins back into one stream.
	maxFramePayload = 1 << 30
)

// appendFrameHeader appends the header of a frame carrying n payload bytes
// (0 < n <= maxFramePayload).
func appendFrameHeader(dst []byte, n int) []byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], frameHasData)
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	return append(dst, h[:]...)
}

// frameReader takes libuv's frames apart: it strips the headers (and the
// socket transfer information, which nodeipc does not use, and which
// comes between the header and the payload) from the bytes
// read from the pipe, whatever the read boundaries, and leaves the
// payloads. A header that libuv itself would refuse ends the stream, as it
// does in libuv (ECONNABORTED): after it nothing can be framed again.
type frameReader struct {
	hdr  [frameHeaderSize]byte
	hn   int    // header bytes collected so far
	data uint32 // payload bytes left in the current frame
	skip int    // socket transfer bytes left to skip
	raw  int64  // pipe bytes consumed before the current read
	err  error  // the bad header, once seen
}

// strip removes the framing from p, the bytes of one read, in place, and
// returns how many payload bytes are left at the front of p. At a bad
// header it returns the payload before it and the error, and every later
// call returns the error.
func (f *frameReader) strip(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	out, i := 0, 0
	for i < len(p) {
		switch {
		case f.skip > 0:
			k := min(len(p)-i, f.skip)
			i += k
			f.skip -= k
		case f.data > 0:
			k := min(len(p)-i, int(min(f.data, 1<<30)))
			copy(p[out:], p[i:i+k])
			out += k
			i += k
			f.data -= uint32(k)
		default:
			k := copy(f.hdr[f.hn:], p[i:])
			f.hn += k
			i += k
			if f.hn == frameHeaderSize {
				f.hn = 0
				if err := f.header(f.raw + int64(i) - frameHeaderSize); err != nil {
					f.err = err
					return out, err
				}
			}
		}
	}
	f.raw += int64(len(p))
	return out, nil
}

// header checks the collected header as libuv does (uv__pipe_read_ipc) and
// sets up its payload; off is its offset in the pipe's byte stream.
func (f *frameReader) header(off int64) error {
	flags := binary.LittleEndian.Uint32(f.hdr[0:])
	n := binary.LittleEndian.Uint32(f.hdr[8:])
	reserved2 := binary.LittleEndian.Uint32(f.hdr[12:])
	var reason string
	switch {
	case flags&^frameValidFlags != 0:
		reason = fmt.Sprintf("unknown flags %#x", flags)
	case reserved2 != 0:
		reason = "reserved field not zero"
	case flags&(frameHasSocket|frameSocketIsConn) == frameSocketIsConn:
		reason = "connection flag without a socket"
	case flags&frameHasData == 0 && n != 0:
		reason = fmt.Sprintf("length %d without the data flag", n)
	}
	if reason != "" {
		return fmt.Errorf("%w (%w: libuv frame header at pipe offset %d: %s: % x)",
			ErrDisconnected, ErrInvalidMessage, off, reason, f.hdr[:])
	}
	if flags&frameHasSocket != 0 {
		f.skip = frameSocketInfoSize
	}
	if flags&frameHasData != 0 {
		f.data = n
	}
	return nil
}
