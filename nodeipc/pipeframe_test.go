package nodeipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// framed puts each payload in a frame, as a libuv writer does, with a
// socket's transfer information in the frames sockets marks.
func framed(payloads [][]byte, sockets []bool) []byte {
	var b []byte
	for i, p := range payloads {
		flags := uint32(frameHasData)
		if i < len(sockets) && sockets[i] {
			flags |= frameHasSocket
		}
		var h [frameHeaderSize]byte
		binary.LittleEndian.PutUint32(h[0:], flags)
		binary.LittleEndian.PutUint32(h[8:], uint32(len(p)))
		b = append(b, h[:]...)
		if flags&frameHasSocket != 0 {
			b = append(b, make([]byte, frameSocketInfoSize)...)
		}
		b = append(b, p...)
	}
	return b
}

// unframeIn strips raw read in pieces of the given sizes (cycled).
func unframeIn(raw []byte, sizes []int) ([]byte, error) {
	var f frameReader
	var out []byte
	for i := 0; len(raw) > 0; i++ {
		n := min(len(raw), max(1, sizes[i%len(sizes)]))
		p := append([]byte(nil), raw[:n]...)
		raw = raw[n:]
		m, err := f.strip(p)
		out = append(out, p[:m]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestFrameReaderJoinsPayloadsAcrossReads(t *testing.T) {
	payloads := [][]byte{[]byte("{\"a\":1}\n"), nil, []byte("{\"b\""), []byte(":2}\n"), bytes.Repeat([]byte("z"), 70000)}
	raw := framed(payloads, []bool{false, false, true})
	want := bytes.Join(payloads, nil)
	for _, sizes := range [][]int{{1}, {3, 17}, {16}, {65536}, {len(raw)}} {
		got, err := unframeIn(raw, sizes)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reads of %v: %d bytes, %v; want %d bytes", sizes, len(got), err, len(want))
		}
	}
}

func TestFrameReaderRefusesWhatLibuvRefuses(t *testing.T) {
	header := func(flags, n, r2 uint32) []byte {
		h := make([]byte, frameHeaderSize)
		binary.LittleEndian.PutUint32(h[0:], flags)
		binary.LittleEndian.PutUint32(h[8:], n)
		binary.LittleEndian.PutUint32(h[12:], r2)
		return h
	}
	for name, h := range map[string][]byte{
		"unknown flag":        header(0x09, 0, 0),
		"reserved2":           header(frameHasData, 0, 7),
		"connection, no sock": header(frameHasData|frameSocketIsConn, 0, 0),
		"length without data": header(0, 5, 0),
		"plain json":          []byte("{\"not\":\"framed\"}"),
	} {
		raw := append(framed([][]byte{[]byte("ok\n")}, nil), h...)
		got, err := unframeIn(raw, []int{5})
		if string(got) != "ok\n" || !errors.Is(err, ErrDisconnected) || !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("%s: %q, %v; want \"ok\\n\" then the end of the stream", name, got, err)
		}
		var f frameReader
		f.err = err
		if n, err2 := f.strip([]byte("more")); n != 0 || err2 != err {
			t.Fatalf("%s: strip after the error = %d, %v; want 0 and the same error", name, n, err2)
		}
	}
}

func TestFrameHeaderIsLibuvs(t *testing.T) {
	got := appendFrameHeader(nil, 0x21)
	want := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("header % x; want % x", got, want)
	}
}

// FuzzFrameReader: any payloads, framed and read back in any pieces, come
// out whole; any bytes at all never panic and end in payload or an error.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n"), []byte("xyz"), uint8(1), uint8(7), []byte{})
	f.Add([]byte{}, []byte("\x00\x01"), uint8(16), uint8(1), []byte("\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, p1, p2 []byte, s1, s2 uint8, junk []byte) {
		raw := framed([][]byte{p1, p2}, []bool{s1&1 == 1})
		got, err := unframeIn(raw, []int{int(s1), int(s2)})
		if err != nil || !bytes.Equal(got, append(append([]byte(nil), p1...), p2...)) {
			t.Fatalf("round trip: %q, %v", got, err)
		}
		got, err = unframeIn(append(raw, junk...), []int{int(s2), int(s1)})
		if len(got) > len(raw)+len(junk) || err != nil && !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("junk: %d bytes, %v", len(got), err)
		}
	})
}
