//go:build unix

package nodeipc

import (
	"bytes"
	"testing"
)

// The read buffer grows to streamBufSize after a read that filled it (a
// peer streaming faster than it is read), keeping the bytes of a message in
// progress, and shrinks back after calmAfter reads that used less than a
// quarter of it.
func TestReadBufferFollowsTheStream(t *testing.T) {
	c, peer := readPollingPair(t)
	stream := make([]byte, 100<<10)
	for i := range stream {
		stream[i] = byte(i * 7)
	}
	if _, err := peer.Write(stream); err != nil {
		t.Fatal(err)
	}
	r := &reader{c: c, buf: make([]byte, readBufSize)}
	got := 0 // bytes of stream consumed or pending in r
	if err := r.fill(0, false); err != nil {
		t.Fatal(err)
	}
	if r.end != readBufSize || len(r.buf) != readBufSize {
		t.Fatalf("first read: %d bytes into a %d-byte buffer; want it full at %d", r.end, len(r.buf), readBufSize)
	}
	// Consume all but a message in progress at the end of the buffer.
	r.start = r.end - 100
	got = r.start
	if err := r.fill(0, false); err != nil {
		t.Fatal(err)
	}
	if len(r.buf) != streamBufSize {
		t.Fatalf("after a full read the buffer is %d bytes; want %d", len(r.buf), streamBufSize)
	}
	if want := stream[got:]; !bytes.Equal(r.buf[r.start:r.end], want) {
		t.Fatalf("after the switch the buffer holds %d bytes that differ from the %d the stream has left", r.end-r.start, len(want))
	}
	r.start, r.end = 0, 0

	// Small reads: the buffer goes back to readBufSize after calmAfter reads
	// that used less than a quarter of it. The read right after the switch
	// was one of them (it took the rest of the stream, about 36 KiB).
	small := 0
	for len(r.buf) == streamBufSize && small <= calmAfter {
		if _, err := peer.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		if err := r.fill(0, false); err != nil {
			t.Fatal(err)
		}
		if got := string(r.buf[r.start:r.end]); got != "x\n" {
			t.Fatalf("small read %d = %q", small, got)
		}
		r.start, r.end = 0, 0
		small++
	}
	if len(r.buf) != readBufSize || small != calmAfter {
		t.Fatalf("after %d small reads the buffer is %d bytes; want %d after %d", small, len(r.buf), readBufSize, calmAfter)
	}
}
