//go:build linux

package nodeipc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nodeipc.dev/nodeipc"
)

// sendHandleAsync runs SendHandle in a goroutine and returns its result.
func sendHandleAsync(ctx context.Context, ch *nodeipc.Channel, v, h any, opts *nodeipc.HandleOptions) <-chan error {
	done := make(chan error, 1)
	go func() { done <- ch.SendHandle(ctx, v, h, opts) }()
	return done
}

func recvHandle(t *testing.T, ctx context.Context, ch *nodeipc.Channel, wantMsg string) *nodeipc.Handle {
	t.Helper()
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Raw()) != wantMsg {
		t.Fatalf("message %s; want %s", m.Raw(), wantMsg)
	}
	h := m.Handle()
	if h == nil {
		t.Fatalf("message %s came without a handle", m.Raw())
	}
	if m.Handle() != nil {
		t.Fatal("second Handle call returned the handle again")
	}
	return h
}

func TestHandlesGoToGo(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	before := countFDs(t)

	// A connected TCP socket.
	client, server, l0 := tcpPair(t)
	l0.Close()
	if err := a.SendHandle(ctx, map[string]string{"k": "sock"}, server, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("x")); err == nil {
		t.Fatal("the sent conn is still open; SendHandle should close it without KeepOpen")
	}
	h := recvHandle(t, ctx, b, `{"k":"sock"}`)
	conn, ok := h.Value.(net.Conn)
	if !ok || h.Type != nodeipc.HandleSocket {
		t.Fatalf("handle %s %T; want net.Socket net.Conn", h.Type, h.Value)
	}
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("client read %q, %v", buf, err)
	}
	conn.Close()

	// A listener, kept open on our side.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := a.SendHandle(ctx, "srv", l, &nodeipc.HandleOptions{KeepOpen: true}); err != nil {
		t.Fatal(err)
	}
	h = recvHandle(t, ctx, b, `"srv"`)
	rl, ok := h.Value.(net.Listener)
	if !ok || h.Type != nodeipc.HandleServer {
		t.Fatalf("handle %s %T; want net.Server net.Listener", h.Type, h.Value)
	}
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := rl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	c2.Close()
	rl.Close()

	// A UDP socket.
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := u.LocalAddr()
	if err := a.SendHandle(ctx, "udp", u, nil); err != nil {
		t.Fatal(err)
	}
	h = recvHandle(t, ctx, b, `"udp"`)
	pc, ok := h.Value.(net.PacketConn)
	if !ok || h.Type != nodeipc.HandleDgram || h.DgramType != "udp4" {
		t.Fatalf("handle %s %s %T; want dgram.Socket udp4 net.PacketConn", h.Type, h.DgramType, h.Value)
	}
	sender, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	sender.Write([]byte("dgram"))
	sender.Close()
	n, _, err := pc.ReadFrom(buf[:cap(buf)])
	if err != nil || n != 4 {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	pc.Close()

	client.Close()
	server.Close()
	l.Close()
	if after := countFDs(t); after > before {
		t.Fatalf("%d fds open, %d before", after, before)
	}
}

func TestSendHandleRefusesWhatCrashesNode(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := os.NewFile(uintptr(fds[0]), "d1"), os.NewFile(uintptr(fds[1]), "d2")
	defer d1.Close()
	defer d2.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	before := countFDs(t)
	for _, tc := range []struct {
		name string
		h    any
	}{
		{"regular file", f},
		{"unix datagram socket", d1},
		{"no fd", strings.NewReader("x")},
		{"nil", nil},
		{"listener as net.Socket", &nodeipc.Handle{Type: nodeipc.HandleSocket, Value: l}},
		{"udp as net.Server", &nodeipc.Handle{Type: nodeipc.HandleServer, Value: udp}},
		{"unknown type", &nodeipc.Handle{Type: "foo", Value: l}},
	} {
		err := ch.SendHandle(ctx, "x", tc.h, nil)
		if !errors.Is(err, nodeipc.ErrInvalidHandle) {
			t.Errorf("%s: SendHandle = %v; want ErrInvalidHandle", tc.name, err)
		}
	}
	if after := countFDs(t); after != before {
		t.Fatalf("%d fds open, %d before", after, before)
	}
	// Nothing reached the wire: the next message is the first thing read.
	if err := ch.Send(ctx, "next"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(raw).ReadString('\n')
	if err != nil || line != "\"next\"\n" {
		t.Fatalf("peer read %q, %v", line, err)
	}
}

// readFrame reads one message from the raw peer, with the fds that came
// with the read.
type rawReader struct {
	t   *testing.T
	c   *net.UnixConn
	buf []byte
}

func (r *rawReader) next() (line string, fds []int) {
	r.t.Helper()
	for {
		if i := strings.IndexByte(string(r.buf), '\n'); i >= 0 {
			line = string(r.buf[:i])
			r.buf = r.buf[i+1:]
			return line, fds
		}
		p := make([]byte, 64<<10)
		oob := make([]byte, syscall.CmsgSpace(16*4))
		n, oobn, _, _, err := r.c.ReadMsgUnix(p, oob)
		if err != nil {
			r.t.Fatalf("raw read: %v", err)
		}
		if oobn > 0 {
			msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
			for i := range msgs {
				got, _ := syscall.ParseUnixRights(&msgs[i])
				fds = append(fds, got...)
			}
		}
		r.buf = append(r.buf, p[:n]...)
	}
}

func writeWithFD(t *testing.T, c *net.UnixConn, data string, fds ...int) {
	t.Helper()
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix([]byte(data), oob, nil); err != nil {
		t.Fatal(err)
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// The writer holds everything behind an unacknowledged handle, but our own
// ACK for the peer's handle jumps the queue, so two peers sending handles
// to each other do not deadlock. A NACK makes it send the handle again.
func TestHandleQueueAckNackAndCrossedHandles(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	rr := &rawReader{t: t, c: raw}
	_, server, _ := tcpPair(t)

	done := sendHandleAsync(ctx, ch, "h1", server, &nodeipc.HandleOptions{KeepOpen: true})
	line, fds := rr.next()
	if line != `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h1"}` || len(fds) != 1 {
		t.Fatalf("peer read %s with %d fds", line, len(fds))
	}
	closeFDs(fds)
	if err := ch.Send(ctx, "after"); err != nil { // held behind the ACK
		t.Fatal(err)
	}
	// NACK twice: the handle comes again each time, with an fd.
	for range 2 {
		writeWithFD(t, raw, `{"cmd":"NODE_HANDLE_NACK"}`+"\n")
		line, fds = rr.next()
		if line != `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h1"}` || len(fds) != 1 {
			t.Fatalf("retransmission: peer read %s with %d fds", line, len(fds))
		}
		closeFDs(fds)
	}
	// Our peer sends a handle of its own: the ACK must come before "after".
	a, b := socketPairFDs(t)
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"theirs"}`+"\n", a)
	syscall.Close(a)
	if line, _ = rr.next(); line != `{"cmd":"NODE_HANDLE_ACK"}` {
		t.Fatalf("peer read %s; want our ACK first", line)
	}
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE_ACK"}`+"\n")
	if err := <-done; err != nil {
		t.Fatalf("SendHandle = %v", err)
	}
	if line, _ = rr.next(); line != `"after"` {
		t.Fatalf("peer read %s; want the held message", line)
	}
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Handle(); h == nil || string(m.Raw()) != `"theirs"` {
		t.Fatalf("Recv %s without handle", m.Raw())
	} else {
		h.Close()
	}
	syscall.Close(b)

	// Four NACKs: given up.
	done = sendHandleAsync(ctx, ch, "h2", server, &nodeipc.HandleOptions{KeepOpen: true})
	for range 4 {
		_, fds = rr.next()
		closeFDs(fds)
		writeWithFD(t, raw, `{"cmd":"NODE_HANDLE_NACK"}`+"\n")
	}
	if err := <-done; !errors.Is(err, nodeipc.ErrHandleNotAccepted) {
		t.Fatalf("SendHandle = %v; want ErrHandleNotAccepted", err)
	}
	// The queue flows again.
	if err := ch.Send(ctx, "flowing"); err != nil {
		t.Fatal(err)
	}
	if line, _ = rr.next(); line != `"flowing"` {
		t.Fatalf("peer read %s", line)
	}
}

func socketPairFDs(t *testing.T) (int, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

func TestSendHandleWithdrawnOnContext(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	rr := &rawReader{t: t, c: raw}
	_, server, _ := tcpPair(t)
	done := sendHandleAsync(ctx, ch, "first", server, &nodeipc.HandleOptions{KeepOpen: true})
	if _, fds := rr.next(); len(fds) != 1 {
		t.Fatal("no fd with the first handle")
	} else {
		closeFDs(fds)
	}
	// The second handle waits behind the first; cancel it.
	cctx, cancel := context.WithCancel(ctx)
	second := sendHandleAsync(cctx, ch, "second", server, &nodeipc.HandleOptions{KeepOpen: true})
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("second SendHandle = %v", err)
	}
	if err := ch.Send(ctx, "third"); err != nil {
		t.Fatal(err)
	}
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE_ACK"}`+"\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if line, fds := rr.next(); line != `"third"` || len(fds) != 0 {
		t.Fatalf("peer read %s (%d fds); want the withdrawn handle gone", line, len(fds))
	}
}

// Messages written before the channel reads: a plain message and a handle
// message in one read, three messages with the handle on the middle one,
// several handles for a paused reader. Each handle arrives with its own
// message (told apart by what its socketpair peer writes).
func TestHandlesArriveWithTheirMessages(t *testing.T) {
	a, b := socketPair(t)
	var peers []int
	handle := func(id string) int {
		x, y := socketPairFDs(t)
		syscall.Write(y, []byte(id))
		peers = append(peers, y)
		return x
	}
	send := func(data string, fds ...int) {
		writeWithFD(t, b, data, fds...)
		closeFDs(fds)
	}
	send(`"plain-1"` + "\n")
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h-A"}`+"\n", handle("A"))
	send(`"plain-2"` + "\n")
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h-B"}`+"\n", handle("B"))
	send(`"plain-3"` + "\n")
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h-C"}`+"\n", handle("C"))
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"h-D"}`+"\n", handle("D"))
	defer closeFDs(peers)

	ch, err := nodeipc.NewChannel(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ctx := testCtx(t)
	for _, want := range []string{"plain-1", "h-A", "plain-2", "h-B", "plain-3", "h-C", "h-D"} {
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Raw()) != `"`+want+`"` {
			t.Fatalf("Recv %s; want %q", m.Raw(), want)
		}
		h := m.Handle()
		if !strings.HasPrefix(want, "h-") {
			if h != nil {
				t.Fatalf("%s came with a handle", want)
			}
			continue
		}
		if h == nil {
			t.Fatalf("%s came without a handle", want)
		}
		conn := h.Value.(net.Conn)
		buf := make([]byte, 1)
		if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != want[2:] {
			t.Fatalf("%s's socket says %q, %v", want, buf, err)
		}
		conn.Close()
	}
	// Each handle was acknowledged exactly once.
	rr := &rawReader{t: t, c: b}
	for range 4 {
		if line, _ := rr.next(); line != `{"cmd":"NODE_HANDLE_ACK"}` {
			t.Fatalf("peer read %s; want 4 ACKs", line)
		}
	}
}

// A hostile peer: none of this crashes, leaks an fd or goes unreported.
func TestHostileHandlePeer(t *testing.T) {
	before := countFDs(t)
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	rr := &rawReader{t: t, c: raw}
	fdsOpen := func() []int {
		x, y := socketPairFDs(t)
		return []int{x, y}
	}
	var mine []int
	one := func() int { p := fdsOpen(); mine = append(mine, p[1]); return p[0] }
	send := func(data string, fds ...int) {
		writeWithFD(t, raw, data, fds...)
		closeFDs(fds)
	}
	// Each step in its own write; "sync" messages keep the reads apart.
	send(`"fd-without-handle"`+"\n", one())
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"no-fd"}` + "\n")
	send(`{"cmd":"NODE_HANDLE_ACK"}` + "\n")
	send(`{"cmd":"NODE_HANDLE","type":"foo","msg":"unknown-type"}`+"\n", one())
	send(`{"cmd":"NODE_HANDLE","type":"dgram.Socket","msg":"no-dgramType"}`+"\n", udpFD(t))
	send(`{"cmd":"NODE_HANDLE","type":"net.Server","msg":"connected-as-server"}`+"\n", one())
	send(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"two-1"}`+"\n"+
		`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"two-2"}`+"\n", one(), one())
	send(`"end"` + "\n")

	var got []string
	for {
		m, err := ch.Recv(ctx)
		if err != nil {
			var perr *nodeipc.ProtocolError
			if !errors.As(err, &perr) || !errors.Is(err, nodeipc.ErrInvalidHandle) {
				t.Fatalf("Recv error %v; want a *ProtocolError wrapping ErrInvalidHandle", err)
			}
			got = append(got, "err")
			continue
		}
		if m.Handle() != nil {
			t.Fatalf("%s came with a handle", m.Raw())
		}
		got = append(got, string(m.Raw()))
		if string(m.Raw()) == `"end"` {
			break
		}
	}
	// Errors: the stray fd, the NODE_HANDLE without fd, the unsolicited ACK,
	// the unknown type, the missing dgramType, the connected socket sent as
	// a server, the two fds in one write, and the second of those two
	// NODE_HANDLEs, which got no fd.
	want := `"fd-without-handle" err err err err err err err err "end"`
	if strings.Join(got, " ") != want {
		t.Fatalf("Recv results:\n%s\nwant:\n%s", strings.Join(got, " "), want)
	}
	// Replies: no-fd NACK, unknown-type ACK, no-dgramType ACK, server ACK,
	// two-fds NACK NACK.
	var replies []string
	for range 6 {
		line, _ := rr.next()
		replies = append(replies, strings.TrimSuffix(strings.TrimPrefix(line, `{"cmd":"NODE_HANDLE_`), `"}`))
	}
	if r := strings.Join(replies, " "); r != "NACK ACK ACK ACK NACK NACK" {
		t.Fatalf("replies %s", r)
	}
	closeFDs(mine)
	ch.Close()
	raw.Close()
	if after := countFDs(t); after > before {
		t.Fatalf("%d fds open, %d before", after, before)
	}
}

func udpFD(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// A handle nobody takes is closed at the next Recv, and at Close.
func TestUntakenHandlesAreClosed(t *testing.T) {
	before := countFDs(t)
	a, b := socketPair(t)
	x, y := socketPairFDs(t)
	defer syscall.Close(y)
	writeWithFD(t, b, `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":1}`+"\n", x)
	writeWithFD(t, b, `2`+"\n")
	p, q := socketPairFDs(t)
	defer syscall.Close(q)
	writeWithFD(t, b, `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":3}`+"\n", p)
	syscall.Close(x)
	syscall.Close(p)
	ch, err := nodeipc.NewChannel(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for range 2 {
		if _, err := ch.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The first handle was dropped by the second Recv: its peer sees EOF.
	if n, err := syscall.Read(y, make([]byte, 1)); n != 0 || err != nil {
		t.Fatalf("read from the untaken handle's peer = %d, %v; want EOF", n, err)
	}
	// The third message is still queued; Close drops its handle.
	for {
		if line, _ := (&rawReader{t: t, c: b}).next(); line != "" {
			break
		}
	}
	ch.Close()
	if n, err := syscall.Read(q, make([]byte, 1)); n != 0 || err != nil {
		t.Fatalf("read from the queued handle's peer = %d, %v; want EOF", n, err)
	}
	b.Close()
	if after := countFDs(t); after > before+2 {
		t.Fatalf("%d fds open, %d before (+2 test peers)", after, before)
	}
}

// NODE_SOCKET_GET_COUNT and NODE_SOCKET_NOTIFY_CLOSE for a key we received.
func TestSocketCountAndNotifyClose(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	rr := &rawReader{t: t, c: raw}
	x, y := socketPairFDs(t)
	defer syscall.Close(y)
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"k","key":"4:127.0.0.1:0"}`+"\n", x)
	syscall.Close(x)
	h := recvHandle(t, ctx, ch, `"k"`)
	if h.Key != "4:127.0.0.1:0" {
		t.Fatalf("key %q", h.Key)
	}
	expect := func(want string) {
		t.Helper()
		if line, _ := rr.next(); line != want {
			t.Fatalf("peer read %s; want %s", line, want)
		}
	}
	expect(`{"cmd":"NODE_HANDLE_ACK"}`)
	writeWithFD(t, raw, `{"cmd":"NODE_SOCKET_GET_COUNT","key":"other"}`+"\n"+
		`{"cmd":"NODE_SOCKET_GET_COUNT","key":"4:127.0.0.1:0"}`+"\n")
	expect(`{"cmd":"NODE_SOCKET_COUNT","count":1,"key":"4:127.0.0.1:0"}`)
	writeWithFD(t, raw, `{"cmd":"NODE_SOCKET_NOTIFY_CLOSE","key":"4:127.0.0.1:0"}`+"\n"+
		`{"cmd":"NODE_SOCKET_GET_COUNT","key":"4:127.0.0.1:0"}`+"\n")
	expect(`{"cmd":"NODE_SOCKET_COUNT","count":1,"key":"4:127.0.0.1:0"}`)
	h.Close()
	expect(`{"cmd":"NODE_SOCKET_ALL_CLOSED","key":"4:127.0.0.1:0"}`)
	writeWithFD(t, raw, `{"cmd":"NODE_SOCKET_NOTIFY_CLOSE","key":"4:127.0.0.1:0"}`+"\n")
	expect(`{"cmd":"NODE_SOCKET_ALL_CLOSED","key":"4:127.0.0.1:0"}`)
}

// Handle traffic interleaved with 100k plain messages: nothing lost or
// reordered, each handle with its message.
func TestHandlesInterleavedWith100kMessages(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	const n = 100000
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			var err error
			if i%10000 == 5000 {
				x, y := socketPairFDs(t)
				f := os.NewFile(uintptr(x), "x")
				err = a.SendHandle(ctx, i, f, nil)
				syscall.Close(y)
			} else {
				err = a.Send(ctx, i)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := range n {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Raw()) != fmt.Sprint(i) {
			t.Fatalf("message %d is %s", i, m.Raw())
		}
		h := m.Handle()
		if (h != nil) != (i%10000 == 5000) {
			t.Fatalf("message %d: handle %v", i, h)
		}
		if h != nil {
			h.Close()
		}
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// Node's NACK retransmission double-wraps the message (a net.Native whose
// msg is the original NODE_HANDLE): unwrapped, and acknowledged once.
func TestDoubleWrappedRetransmissionIsUnwrapped(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	x, y := socketPairFDs(t)
	defer syscall.Close(y)
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE","type":"net.Native","msg":{"cmd":"NODE_HANDLE","type":"net.Socket","msg":{"hello":1},"key":"4:127.0.0.1:0"}}`+"\n", x)
	syscall.Close(x)
	h := recvHandle(t, ctx, ch, `{"hello":1}`)
	if h.Type != nodeipc.HandleSocket || h.Key != "4:127.0.0.1:0" {
		t.Fatalf("handle %s key %q", h.Type, h.Key)
	}
	h.Close()
	if err := ch.Send(ctx, "sync"); err != nil {
		t.Fatal(err)
	}
	rr := &rawReader{t: t, c: raw}
	for _, want := range []string{`{"cmd":"NODE_HANDLE_ACK"}`, `"sync"`} {
		if line, _ := rr.next(); line != want {
			t.Fatalf("peer read %s; want %s (one ACK only)", line, want)
		}
	}
}

// More fds than the control buffer holds: truncated (MSG_CTRUNC), all
// closed, the NODE_HANDLE NACKed, the error reported.
func TestTruncatedControlDataIsNacked(t *testing.T) {
	before := countFDs(t)
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	var fds, peers []int
	for range 100 {
		x, y := socketPairFDs(t)
		fds, peers = append(fds, x), append(peers, y)
	}
	writeWithFD(t, raw, `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"many"}`+"\n", fds...)
	closeFDs(fds)
	writeWithFD(t, raw, `"after"`+"\n")
	if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrInvalidHandle) {
		t.Fatalf("Recv = %v; want ErrInvalidHandle", err)
	}
	if m, err := ch.Recv(ctx); err != nil || string(m.Raw()) != `"after"` {
		t.Fatalf("Recv = %v, %v", m, err)
	}
	if line, _ := (&rawReader{t: t, c: raw}).next(); line != `{"cmd":"NODE_HANDLE_NACK"}` {
		t.Fatalf("peer read %s; want NACK", line)
	}
	// Every received fd was closed: each peer sees EOF.
	for _, y := range peers {
		if n, err := syscall.Read(y, make([]byte, 1)); n != 0 || err != nil {
			t.Fatalf("peer fd read %d, %v; want EOF", n, err)
		}
	}
	closeFDs(peers)
	ch.Close()
	raw.Close()
	if after := countFDs(t); after > before {
		t.Fatalf("%d fds open, %d before", after, before)
	}
}

// Over a SOCK_SEQPACKET pair every write is one record, so the raw peer
// sees exactly what each sendmsg carried: the handle frame alone with its
// fd, the messages queued before it in earlier writes, and the messages
// after it only after the ACK.
func TestHandleFrameIsWrittenAlone(t *testing.T) {
	mine, raw := socketPairOf(t, syscall.SOCK_SEQPACKET)
	defer raw.Close()
	ch, err := nodeipc.NewChannel(mine, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ctx := testCtx(t)
	_, server, l0 := tcpPair(t)
	l0.Close()

	for i := range 50 {
		if err := ch.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	done := sendHandleAsync(ctx, ch, "handle", server, nil)
	record := func() (string, int) {
		p := make([]byte, 64<<10)
		oob := make([]byte, syscall.CmsgSpace(4*4))
		n, oobn, _, _, err := raw.ReadMsgUnix(p, oob)
		if err != nil {
			t.Fatal(err)
		}
		nfd := 0
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range msgs {
				got, _ := syscall.ParseUnixRights(&msgs[i])
				closeFDs(got)
				nfd += len(got)
			}
		}
		return string(p[:n]), nfd
	}
	var before strings.Builder
	for i := range 50 {
		fmt.Fprintf(&before, "%d\n", i)
	}
	var got strings.Builder
	for got.Len() < before.Len() {
		rec, nfd := record()
		if nfd != 0 {
			t.Fatalf("an fd came with %q", rec)
		}
		got.WriteString(rec)
	}
	if got.String() != before.String() {
		t.Fatalf("before the handle: %q", got.String())
	}
	if rec, nfd := record(); rec != `{"cmd":"NODE_HANDLE","type":"net.Socket","msg":"handle"}`+"\n" || nfd != 1 {
		t.Fatalf("handle record %q with %d fds", rec, nfd)
	}
	// Sent while the handle waits for its ACK: held, so Flush cannot
	// complete before the ACK, however long it waits.
	if err := ch.Send(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := ch.Flush(fctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush before the ACK = %v; want it to wait", err)
	}
	if _, _, err := raw.WriteMsgUnix([]byte(`{"cmd":"NODE_HANDLE_ACK"}`+"\n"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, nfd := record(); rec != `"after"`+"\n" || nfd != 0 {
		t.Fatalf("after the ACK: %q with %d fds", rec, nfd)
	}
}

// What each type and kind of fd becomes on the Go side.
func TestReceivedHandleValues(t *testing.T) {
	ch, raw := rawPeer(t, nil)
	ctx := testCtx(t)
	boundTCP := func(listen bool) int {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		if listen {
			syscall.Listen(fd, 8)
		}
		return fd
	}
	var keep []int
	defer func() { closeFDs(keep) }()
	pairEnd := func() int { x, y := socketPairFDs(t); keep = append(keep, y); return x }
	fifo := func() int {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		keep = append(keep, p[1])
		return p[0]
	}
	for _, tc := range []struct {
		typ  string
		fd   int
		want string
	}{
		{"net.Socket", pairEnd(), "*net.UnixConn"},
		{"net.Socket", fifo(), "*os.File"},
		{"net.Server", boundTCP(false), "*net.TCPListener"}, // listen() applied, as Node does
		{"net.Server", boundTCP(true), "*net.TCPListener"},
		{"net.Native", boundTCP(true), "*net.TCPListener"},
		{"net.Native", boundTCP(false), "*os.File"},
		{"net.Native", pairEnd(), "*net.UnixConn"},
		{"dgram.Native", udpFD(t), "*net.UDPConn"},
		{"dgram.Socket", udpFD(t), "*net.UDPConn"},
	} {
		extra := ""
		if tc.typ == "dgram.Socket" {
			extra = `,"dgramType":"udp4"`
		}
		writeWithFD(t, raw, `{"cmd":"NODE_HANDLE","type":"`+tc.typ+`","msg":"m"`+extra+`}`+"\n", tc.fd)
		syscall.Close(tc.fd)
		h := recvHandle(t, ctx, ch, `"m"`)
		if got := fmt.Sprintf("%T", h.Value); got != tc.want || string(h.Type) != tc.typ {
			t.Errorf("%s: %s %s; want %s", tc.typ, h.Type, got, tc.want)
		}
		if l, ok := h.Value.(net.Listener); ok {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Errorf("%s: dial the received listener: %v", tc.typ, err)
			} else {
				c.Close()
			}
		}
		h.Close()
	}
}

// TestReleaseClosesAnUntakenHandle: a handle left in a released message is
// closed, as it would be at the next Recv.
func TestReleaseClosesAnUntakenHandle(t *testing.T) {
	a, b := pipe(t, nil)
	ctx := testCtx(t)
	client, server, l := tcpPair(t)
	l.Close()
	if err := a.SendHandle(ctx, "conn", server, nil); err != nil {
		t.Fatal(err)
	}
	m, err := b.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Release()
	if m.Handle() != nil {
		t.Fatal("Handle after Release returned a handle")
	}
	// The received copy was the last one open: the client sees EOF.
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1]byte
	if _, err := client.Read(buf[:]); err != io.EOF {
		t.Fatalf("client Read = %v; want EOF once the handle is closed", err)
	}
}
