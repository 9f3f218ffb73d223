//go:build linux

package nodeipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"nodeipc.dev/nodeipc"
)

// fakePrimary drives the raw end of a worker's channel.
type fakePrimary struct {
	t  *testing.T
	rr *rawReader
	c  *net.UnixConn
}

// expect reads the next message and checks the fields in want.
func (p *fakePrimary) expect(want map[string]any) map[string]any {
	p.t.Helper()
	line, _ := p.rr.next()
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		p.t.Fatalf("primary read %q: %v", line, err)
	}
	for k, v := range want {
		if b1, _ := json.Marshal(got[k]); string(b1) != mustJSON(v) {
			p.t.Fatalf("primary read %s; want %s=%s", line, k, mustJSON(v))
		}
	}
	return got
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func (p *fakePrimary) send(v any, fds ...int) {
	p.t.Helper()
	writeWithFD(p.t, p.c, mustJSON(v)+"\n", fds...)
	closeFDs(fds)
}

func joinFake(t *testing.T) (*nodeipc.Worker, *fakePrimary) {
	t.Helper()
	ch, raw := rawPeer(t, nil)
	t.Setenv("NODE_UNIQUE_ID", "7")
	w, err := nodeipc.JoinCluster(testCtx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	if w.ID() != 7 {
		t.Fatalf("ID %d", w.ID())
	}
	p := &fakePrimary{t: t, rr: &rawReader{t: t, c: raw}, c: raw}
	p.expect(map[string]any{"cmd": "NODE_CLUSTER", "act": "online", "seq": 0})
	return w, p
}

func listenAsync(ctx context.Context, w *nodeipc.Worker) (<-chan net.Listener, <-chan error) {
	lc, ec := make(chan net.Listener, 1), make(chan error, 1)
	go func() {
		l, err := w.Listen(ctx, "tcp", "127.0.0.1:0")
		lc <- l
		ec <- err
	}()
	return lc, ec
}

func TestJoinClusterNeedsUniqueID(t *testing.T) {
	ch, _ := rawPeer(t, nil)
	t.Setenv("NODE_UNIQUE_ID", "")
	if _, err := nodeipc.JoinCluster(testCtx(t), ch); !errors.Is(err, nodeipc.ErrNotWorker) {
		t.Fatalf("JoinCluster = %v; want ErrNotWorker", err)
	}
}

func TestClusterRoundRobin(t *testing.T) {
	w, p := joinFake(t)
	ctx := testCtx(t)
	lc, ec := listenAsync(ctx, w)
	key := "127.0.0.1:0:4:undefined:0"
	p.expect(map[string]any{"act": "queryServer", "seq": 1, "index": 0, "address": "127.0.0.1", "port": 0, "addressType": 4})
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "errno": nil, "key": key, "ack": 1, "data": nil,
		"sockname": map[string]any{"address": "127.0.0.1", "family": "IPv4", "port": 4321}, "seq": 0})
	l, err := <-lc, <-ec
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr().String() != "127.0.0.1:4321" {
		t.Fatalf("Addr %s", l.Addr())
	}
	p.expect(map[string]any{"act": "listening", "seq": 2, "port": 4321})

	// A connection, handed over the way the primary does.
	client, server, l0 := tcpPair(t)
	l0.Close()
	sf, err := server.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	server.Close()
	fd, _ := syscall.Dup(int(sf.Fd()))
	sf.Close()
	p.send(map[string]any{"cmd": "NODE_HANDLE", "type": "net.Native",
		"msg": map[string]any{"cmd": "NODE_CLUSTER", "act": "newconn", "key": key, "seq": 1}}, fd)
	p.expect(map[string]any{"cmd": "NODE_HANDLE_ACK"})
	p.expect(map[string]any{"cmd": "NODE_CLUSTER", "ack": 1, "accepted": true, "seq": 3})
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("rr"))
	conn.Close()
	if b, err := io.ReadAll(client); err != nil || string(b) != "rr" {
		t.Fatalf("client read %q, %v", b, err)
	}

	// A connection for a key we do not listen on is refused.
	x, y := socketPairFDs(t)
	defer syscall.Close(y)
	p.send(map[string]any{"cmd": "NODE_HANDLE", "type": "net.Native",
		"msg": map[string]any{"cmd": "NODE_CLUSTER", "act": "newconn", "key": "other", "seq": 2}}, x)
	p.expect(map[string]any{"cmd": "NODE_HANDLE_ACK"})
	p.expect(map[string]any{"ack": 2, "accepted": false, "seq": 4})

	// The primary's disconnect: close for the listener, then EOF.
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "act": "disconnect", "seq": 3})
	p.expect(map[string]any{"act": "close", "key": key, "seq": 5})
	<-w.Done()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after disconnect = %v", err)
	}
	if n, err := p.c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("primary read %d, %v; want EOF", n, err)
	}
	if err := w.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClusterShared(t *testing.T) {
	w, p := joinFake(t)
	ctx := testCtx(t)
	lc, ec := listenAsync(ctx, w)
	p.expect(map[string]any{"act": "queryServer", "seq": 1})
	// A bound, not listening socket, as net._createServerHandle makes it.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	key := "127.0.0.1:0:4:undefined:0"
	p.send(map[string]any{"cmd": "NODE_HANDLE", "type": "net.Native",
		"msg": map[string]any{"cmd": "NODE_CLUSTER", "errno": 0, "key": key, "ack": 1, "data": nil, "seq": 0}}, fd)
	p.expect(map[string]any{"cmd": "NODE_HANDLE_ACK"})
	l, err := <-lc, <-ec
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	p.expect(map[string]any{"act": "listening", "seq": 2, "port": port})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c.Close()

	// The worker leaves on its own: close, exitedAfterDisconnect, EOF.
	done := make(chan error, 1)
	go func() { done <- w.Disconnect(ctx) }()
	p.expect(map[string]any{"act": "close", "key": key, "seq": 3})
	p.expect(map[string]any{"act": "exitedAfterDisconnect", "seq": 4})
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "ack": 4, "seq": 1})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := p.c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("primary read %d, %v; want EOF", n, err)
	}
}

func TestClusterListenError(t *testing.T) {
	w, p := joinFake(t)
	ctx := testCtx(t)
	lc, ec := listenAsync(ctx, w)
	p.expect(map[string]any{"act": "queryServer", "seq": 1})
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "errno": -98, "key": "k", "ack": 1, "data": nil, "seq": 0})
	if l, err := <-lc, <-ec; l != nil || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen = %v, %v; want EADDRINUSE", l, err)
	}
	p.c.Close() // the primary goes away: the worker leaves
	<-w.Done()
	w.Disconnect(ctx)
}

// A connection in the same read as the queryServer reply, before Listen
// has registered its listener, is still accepted.
func TestClusterConnectionRightAfterReply(t *testing.T) {
	w, p := joinFake(t)
	ctx := testCtx(t)
	lc, ec := listenAsync(ctx, w)
	key := "127.0.0.1:0:4:undefined:0"
	p.expect(map[string]any{"act": "queryServer", "seq": 1})
	client, server, l0 := tcpPair(t)
	l0.Close()
	sf, err := server.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	server.Close()
	fd, _ := syscall.Dup(int(sf.Fd()))
	sf.Close()
	reply := mustJSON(map[string]any{"cmd": "NODE_CLUSTER", "errno": nil, "key": key, "ack": 1, "data": nil,
		"sockname": map[string]any{"address": "127.0.0.1", "family": "IPv4", "port": 4321}, "seq": 0})
	conn := mustJSON(map[string]any{"cmd": "NODE_HANDLE", "type": "net.Native",
		"msg": map[string]any{"cmd": "NODE_CLUSTER", "act": "newconn", "key": key, "seq": 1}})
	// One write, so one read: the fd goes with the last NODE_HANDLE.
	writeWithFD(t, p.c, reply+"\n"+conn+"\n", fd)
	syscall.Close(fd)
	l, err := <-lc, <-ec
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 3 {
		m := p.expect(nil)
		switch {
		case m["cmd"] == "NODE_HANDLE_ACK":
			seen["ack"] = true
		case m["act"] == "listening":
			seen["listening"] = true
		case m["accepted"] == true && m["ack"] == 1.0:
			seen["accepted"] = true
		default:
			t.Fatalf("primary read %v", m)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("primary saw %v", seen)
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("early"))
	c.Close()
	if b, err := io.ReadAll(client); err != nil || string(b) != "early" {
		t.Fatalf("client read %q, %v", b, err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Disconnect(ctx) }()
	p.expect(map[string]any{"act": "close", "key": key})
	m := p.expect(map[string]any{"act": "exitedAfterDisconnect"})
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "ack": m["seq"], "seq": 1})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestClusterUDP(t *testing.T) {
	w, p := joinFake(t)
	ctx := testCtx(t)
	type result struct {
		pc  net.PacketConn
		err error
	}
	rc := make(chan result, 1)
	go func() {
		pc, err := w.ListenPacket(ctx, "udp4", "127.0.0.1:0")
		rc <- result{pc, err}
	}()
	key := "127.0.0.1:0:udp4:-1:0"
	p.expect(map[string]any{"act": "queryServer", "seq": 1, "address": "127.0.0.1", "port": 0, "addressType": "udp4", "fd": -1})
	p.send(map[string]any{"cmd": "NODE_HANDLE", "type": "dgram.Native",
		"msg": map[string]any{"cmd": "NODE_CLUSTER", "errno": 0, "key": key, "ack": 1, "data": nil, "seq": 0}}, udpFD(t))
	p.expect(map[string]any{"cmd": "NODE_HANDLE_ACK"})
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	port := r.pc.LocalAddr().(*net.UDPAddr).Port
	p.expect(map[string]any{"act": "listening", "seq": 2, "port": port, "addressType": "udp4"})
	c, err := net.Dial("udp", r.pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("dgram"))
	buf := make([]byte, 16)
	if n, _, err := r.pc.ReadFrom(buf); err != nil || string(buf[:n]) != "dgram" {
		t.Fatalf("ReadFrom = %q, %v", buf[:n], err)
	}
	p.send(map[string]any{"cmd": "NODE_CLUSTER", "act": "disconnect", "seq": 1})
	p.expect(map[string]any{"act": "close", "key": key, "seq": 3})
	<-w.Done()
	if _, _, err := r.pc.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom after disconnect = %v", err)
	}
	w.Disconnect(ctx)
}
