package nodeipc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"nodeipc.dev/nodeipc"
)

// frame is a libuv IPC frame with the given flags around payload.
func frame(flags uint32, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	binary.LittleEndian.PutUint32(b, flags)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(payload)))
	return append(b, payload...)
}

// rawPipePeer returns a Channel and the other end of its pipe without
// framing: the test writes libuv frames (or broken ones) by hand.
func rawPipePeer(t *testing.T, opts *nodeipc.Options) (*nodeipc.Channel, io.ReadWriteCloser) {
	t.Helper()
	a, b, err := nodeipc.RawPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := nodeipc.NewChannel(nodeipc.FramedForTest(a), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close(); b.Close() })
	return ch, b
}

// Frames split at every byte, several frames in one write, an empty frame
// and a frame carrying a socket's transfer information all come out as the
// payloads' byte stream.
func TestFramesAcrossReadsAndWrites(t *testing.T) {
	ch, raw := rawPipePeer(t, nil)
	ctx := testCtx(t)
	one := frame(1, []byte(`{"n":1}`+"\n"))
	for i := range one {
		if _, err := raw.Write(one[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	var burst []byte
	burst = append(burst, frame(1, []byte(`{"n":2}`+"\n{\"n\""))...)
	burst = append(burst, frame(1, nil)...)
	burst = append(burst, frame(1, []byte(":3}\n"))...)
	socket := frame(1|2, []byte(`{"n":4}`+"\n"))
	socket = append(socket[:16:16], append(bytes.Repeat([]byte{0xAA}, 632), socket[16:]...)...)
	burst = append(burst, socket...)
	if _, err := raw.Write(burst); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 4; want++ {
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv #%d: %v", want, err)
		}
		var v struct{ N int }
		if err := m.Decode(&v); err != nil || v.N != want {
			t.Fatalf("message %q; want n=%d", m.Raw(), want)
		}
	}
}

// Bytes without libuv's frame (what a Unix peer would send) end the
// channel with an error that says so; the message before them arrives.
func TestUnframedBytesEndTheChannel(t *testing.T) {
	for _, bad := range []string{
		"{\"a\":1}\n{\"a\":2}\n",                        // no frame at all
		string(frame(1, nil)[:12]) + "\x01\x00\x00\x00", // reserved2 set
		string(frame(4, nil)),                           // connection flag without a socket
		string(frame(0, []byte("x"))),                   // data without the data flag
	} {
		ch, raw := rawPipePeer(t, nil)
		ctx := testCtx(t)
		raw.Write(append(frame(1, []byte("\"first\"\n")), bad...))
		m, err := ch.Recv(ctx)
		if err != nil || string(m.Raw()) != `"first"` {
			t.Fatalf("first Recv = %v, %v; want \"first\"", m, err)
		}
		_, err = ch.Recv(ctx)
		var perr *nodeipc.ProtocolError
		if !errors.Is(err, nodeipc.ErrDisconnected) || !errors.Is(err, nodeipc.ErrInvalidMessage) ||
			errors.As(err, &perr) || !strings.Contains(err.Error(), "libuv frame header") {
			t.Fatalf("Recv after %q = %v; want the end of the channel (ErrDisconnected and ErrInvalidMessage, no ProtocolError)", bad, err)
		}
		<-ch.Done()
		if err := ch.Send(ctx, 1); !errors.Is(err, nodeipc.ErrDisconnected) {
			t.Fatalf("Send after a bad frame = %v; want ErrDisconnected", err)
		}
	}
}

// Every write is one frame with the payload's length.
func TestWritesAreFramed(t *testing.T) {
	ch, raw := rawPipePeer(t, nil)
	ctx := testCtx(t)
	big := strings.Repeat("x", 300<<10) // past the size Write copies
	for _, v := range []string{"a", big} {
		if err := ch.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
		want := []byte(`"` + v + `"` + "\n")
		got := make([]byte, 16+len(want))
		if _, err := io.ReadFull(raw, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, frame(1, want)) {
			t.Fatalf("frame of %d bytes: header % x; want % x", len(want), got[:16], frame(1, want)[:16])
		}
	}
}

// While the channel's reader waits in a read on the pipe, writes go out:
// the handle is overlapped, each direction has its own operation.
func TestPendingReadDoesNotBlockWrites(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	msg := strings.Repeat("y", 1<<20)
	for range 4 {
		if err := a.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		m, err := b.Recv(ctx)
		if err != nil || len(m.Raw()) != len(msg)+2 {
			t.Fatalf("Recv #%d: %d bytes, %v", i, len(m.Raw()), err)
		}
	}
}

// The peer closing its end is the end of the channel, after what it sent.
func TestBrokenPipeIsDisconnect(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	raw.Write([]byte("\"last\"\n"))
	raw.Close()
	if m, err := ch.Recv(ctx); err != nil || string(m.Raw()) != `"last"` {
		t.Fatalf("Recv = %v, %v; want \"last\"", m, err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Recv after the peer closed = %v; want ErrDisconnected", err)
	}
	<-ch.Done()
	if err := ch.Send(ctx, 1); !errors.Is(err, nodeipc.ErrDisconnected) {
		t.Fatalf("Send after the peer closed = %v; want ErrDisconnected", err)
	}
}

// A pipe has no half-close: CloseWrite says so and leaves the channel
// working.
func TestCloseWriteIsUnsupportedOnAPipe(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	if err := a.CloseWrite(ctx); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("CloseWrite = %v; want errors.ErrUnsupported", err)
	}
	if err := a.Send(context.Background(), "still"); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || string(m.Raw()) != `"still"` {
		t.Fatalf("Recv = %v, %v", m, err)
	}
}

// Handles do not travel over a named pipe: SendHandle says so, and sends
// nothing.
func TestSendHandleIsUnsupported(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = a.SendHandle(ctx, "server", l, nil)
	if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, nodeipc.ErrInvalidHandle) {
		t.Fatalf("SendHandle over a pipe = %v; want ErrInvalidHandle and errors.ErrUnsupported", err)
	}
	a.Send(ctx, "after")
	if m, err := b.Recv(ctx); err != nil || string(m.Raw()) != `"after"` {
		t.Fatalf("Recv = %v, %v; want only the message sent after", m, err)
	}
}

// handleCount is the number of handles this process has open, found by
// asking about every handle value below 1<<16 (they are multiples of 4).
func handleCount(t *testing.T) int {
	t.Helper()
	info := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetHandleInformation")
	n := 0
	var flags uint32
	for h := uintptr(4); h < 1<<16; h += 4 {
		if r, _, _ := info.Call(h, uintptr(unsafe.Pointer(&flags))); r != 0 {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no open handle found: the count does not work here")
	}
	return n
}

// Channels over pipes give their handles back when closed, whichever end
// closes first.
func TestPipeHandlesAreClosed(t *testing.T) {
	ctx := testCtx(t)
	run := func() {
		a, b, err := nodeipc.Pipe(nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Send(ctx, "x")
		if _, err := b.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		a.Close()
		b.Close()
	}
	run() // the runtime's own handles (threads, the completion port) come first
	before := handleCount(t)
	for range 50 {
		run()
	}
	if after := handleCount(t); after > before+10 {
		t.Fatalf("%d handles open after 50 pipes; %d before: the pipes leak", after, before)
	}
}
