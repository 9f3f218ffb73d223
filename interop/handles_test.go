//go:build linux

package interop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
)

// runHandlesParent runs testdata/handles/parent.js with a scenario against this
// test binary as the Go child.
func runHandlesParent(t *testing.T, node, scenario string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, nodetest.JS("handles/parent.js"), scenario, os.Args[0])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "ok ") {
		t.Fatalf("node handles/parent.js %s: %v\nstdout: %s\nstderr: %s", scenario, err, stdout.String(), stderr.String())
	}
	t.Log(strings.TrimSpace(stdout.String()))
}

// Node sends a connected socket, a listening server and a UDP socket to a
// Go child, which serves traffic on them; the Node server counts the socket
// held by the Go child and close() completes once the child closed it.
func TestNodeParentSendsHandlesToGoChild(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) { runHandlesParent(t, node, "toGo") })
}

// A Go child sends a socket, a listener and a UDP socket to its Node parent.
func TestGoChildSendsHandlesToNodeParent(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) { runHandlesParent(t, node, "fromGo") })
}

// A Go parent sends a socket, a listener and a UDP socket to a Node child.
func TestGoParentSendsHandlesToNodeChild(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		cmd := nodeipc.NodeCommand(node, nil, nodetest.JS("handles/child.js"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		ch, err := nodeipc.Start(cmd, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()
		ctx := ctxFor(t)
		var acks []string
		report := func(kind string) error {
			m, err := ch.Recv(ctx)
			if err != nil {
				return err
			}
			var r struct {
				Got, Handle string
				Served      bool
			}
			if err := m.Decode(&r); err != nil {
				return err
			}
			if r.Got != kind || !r.Served {
				return fmt.Errorf("node child reported %s", m.Raw())
			}
			acks = append(acks, r.Got+":"+r.Handle)
			return nil
		}
		if err := driveNodeServe(ctx, ch, report); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(acks, " "); got != "socket:net.Socket unix:net.Socket server:net.Server udp:dgram.Socket" {
			t.Fatalf("node child got %s", got)
		}
		if err := ch.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
		wantExit(t, cmd, 0)
	})
}

// Handles interleaved with 100k plain messages, Go parent to Node child and
// back: nothing lost or reordered, each handle with its message.
func TestGoParentHandlesInterleaved100k(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) {
		interleaved(t, node, 100000, 10000)
	})
}

// BenchmarkHandlesInterleaved compares the rate of 100k plain round trips
// through a Node child with and without a handle every 10,000 messages, in
// the same run (issue: within 10%). It reports both rates and their ratio
// (plain time over time with handles: below 1 means handles slow it down).
func BenchmarkHandlesInterleaved(b *testing.B) {
	node := nodetest.System(b)
	var plain, handles time.Duration
	for i := range b.N { // alternate which goes first
		if i%2 == 0 {
			plain += interleaved(b, node, 100000, 0)
			handles += interleaved(b, node, 100000, 10000)
		} else {
			handles += interleaved(b, node, 100000, 10000)
			plain += interleaved(b, node, 100000, 0)
		}
	}
	b.ReportMetric(float64(100000*b.N)/plain.Seconds(), "plain-msg/s")
	b.ReportMetric(float64(100000*b.N)/handles.Seconds(), "with-handles-msg/s")
	b.ReportMetric(plain.Seconds()/handles.Seconds(), "ratio")
}

// interleaved sends n messages to testdata/handles/child.js, a handle with every
// one whose index is 777 modulo every (none if every is 0), checks every
// reply and returns how long the exchange took.
func interleaved(t testing.TB, node string, n, every int) time.Duration {
	t.Helper()
	cmd := nodeipc.NodeCommand(node, nil, nodetest.JS("handles/child.js"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ch.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	withHandle := func(i int) bool { return every > 0 && i%every == 777 }
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			var err error
			if withHandle(i) {
				var fds [2]int
				if fds, err = syscallSocketpair(); err == nil {
					f := os.NewFile(uintptr(fds[0]), "h")
					err = ch.SendHandle(ctx, map[string]int{"i": i}, f, nil)
					syscall.Close(fds[1])
				}
			} else {
				err = ch.Send(ctx, map[string]int{"i": i})
			}
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range n {
		m, err := ch.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			I      int
			Handle string
		}
		if err := m.Decode(&r); err != nil {
			t.Fatal(err)
		}
		want := "none"
		if withHandle(i) {
			want = "net.Socket"
		}
		if r.I != i || r.Handle != want {
			t.Fatalf("reply %d: %s; want i=%d handle=%s", i, m.Raw(), i, want)
		}
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := ch.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node child: %v", err)
	}
	return elapsed
}

func syscallSocketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}

// driveNodeServe sends the kinds of handle to a Node peer running
// testdata/handles/serve.js and checks the traffic it serves on each. after, if
// not nil, runs after each handle was acknowledged.
func driveNodeServe(ctx context.Context, ch *nodeipc.Channel, after func(kind string) error) error {
	if after == nil {
		after = func(string) error { return nil }
	}
	deadline := time.Now().Add(time.Minute)
	// send sends h, closing it if that fails, then runs after.
	send := func(kind string, h io.Closer) error {
		if err := ch.SendHandle(ctx, map[string]string{"kind": kind}, h, nil); err != nil {
			h.Close()
			return fmt.Errorf("send %s: %w", kind, err)
		}
		return after(kind)
	}

	// A connected socket: we keep the client end.
	l0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l0.Close()
	client, err := net.Dial("tcp", l0.Addr().String())
	if err != nil {
		return err
	}
	defer client.Close()
	server, err := l0.Accept()
	if err != nil {
		return err
	}
	l0.Close()
	if err := send("socket", server); err != nil {
		return err
	}
	client.SetDeadline(deadline)
	if _, err := client.Write([]byte("ping")); err != nil {
		return err
	}
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "node-socket:ping" {
		return fmt.Errorf("socket: read %q, %v", got, err)
	}

	// A Unix stream socket (a Pipe on the Node side).
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	uc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		return err
	}
	defer uc.Close()
	tc, err := net.FileConn(theirs)
	theirs.Close()
	if err != nil {
		return err
	}
	if err := send("unix", tc); err != nil {
		return err
	}
	uc.SetDeadline(deadline)
	if _, err := uc.Write([]byte("ping")); err != nil {
		return err
	}
	got, err = io.ReadAll(uc)
	if err != nil || string(got) != "node-socket:ping" {
		return fmt.Errorf("unix: read %q, %v", got, err)
	}

	// A listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	if err := send("server", l); err != nil {
		return err
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c.SetDeadline(deadline)
	got, err = io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != "node-server" {
		return fmt.Errorf("server: read %q, %v", got, err)
	}

	// A UDP socket.
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	uaddr := u.LocalAddr().String()
	if err := send("udp", u); err != nil {
		return err
	}
	p, err := net.Dial("udp", uaddr)
	if err != nil {
		return err
	}
	defer p.Close()
	p.SetDeadline(deadline)
	if _, err := p.Write([]byte("hi")); err != nil {
		return err
	}
	buf := make([]byte, 100)
	n, err := p.Read(buf)
	if err != nil || string(buf[:n]) != "node-udp:hi" {
		return fmt.Errorf("udp: read %q, %v", buf[:n], err)
	}
	return nil
}

var (
	// handles-recv receives handles from a Node parent (parent.js toGo)
	// and serves on them.
	_ = nodetest.RegisterHelper("handles-recv", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		defer ch.Close()
		if err := recvHandles(ch); err != nil {
			fmt.Fprintln(os.Stderr, "handles-recv:", err)
			return 1
		}
		return 0
	})

	// handles-send sends handles to a Node parent (parent.js fromGo).
	_ = nodetest.RegisterHelper("handles-send", func() int {
		ch, code := adopt()
		if ch == nil {
			return code
		}
		defer ch.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done := map[string]any{"done": true}
		if err := driveNodeServe(ctx, ch, nil); err != nil {
			done["error"] = err.Error()
		}
		if err := ch.Send(ctx, done); err != nil {
			return 1
		}
		if err := ch.Disconnect(ctx); err != nil {
			return 1
		}
		return 0
	})
)

func recvHandles(ch *nodeipc.Channel) error {
	ctx := context.Background()
	var order []string
	var sock net.Conn
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			return nil
		}
		if err != nil {
			return err
		}
		h := m.Handle()
		var req struct{ Kind string }
		if err := m.Decode(&req); err != nil || req.Kind == "" {
			order = append(order, strings.Trim(string(m.Raw()), `"`))
			if h != nil {
				return fmt.Errorf("plain message %s came with a handle", m.Raw())
			}
			if len(order) == 3 {
				if err := ch.Send(ctx, map[string]any{"got": "socket", "order": order}); err != nil {
					return err
				}
			}
			continue
		}
		if req.Kind == "close-socket" {
			sock.Close()
			continue
		}
		if h == nil {
			return fmt.Errorf("%s came without a handle", m.Raw())
		}
		switch req.Kind {
		case "socket":
			order = append(order, "socket")
			conn, ok := h.Value.(net.Conn)
			if !ok || h.Type != nodeipc.HandleSocket || h.Key == "" {
				return fmt.Errorf("socket handle %s %T key %q", h.Type, h.Value, h.Key)
			}
			sock = conn
			buf := make([]byte, 4)
			go func() {
				if _, err := io.ReadFull(conn, buf); err != nil {
					return
				}
				conn.Write([]byte("go-socket:" + string(buf)))
				ch.Send(ctx, map[string]string{"echoed": string(buf)})
			}()
		case "server":
			l, ok := h.Value.(net.Listener)
			if !ok || h.Type != nodeipc.HandleServer {
				return fmt.Errorf("server handle %s %T", h.Type, h.Value)
			}
			if err := ch.Send(ctx, map[string]string{"got": "server"}); err != nil {
				return err
			}
			c, err := l.Accept()
			if err != nil {
				return err
			}
			c.Write([]byte("go-server"))
			c.Close()
			l.Close()
		case "udp":
			pc, ok := h.Value.(net.PacketConn)
			if !ok || h.Type != nodeipc.HandleDgram || h.DgramType != "udp4" {
				return fmt.Errorf("udp handle %s %s %T", h.Type, h.DgramType, h.Value)
			}
			if err := ch.Send(ctx, map[string]string{"got": "udp"}); err != nil {
				return err
			}
			buf := make([]byte, 100)
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return err
			}
			pc.WriteTo([]byte("go-udp:"+string(buf[:n])), from)
			pc.Close()
		}
	}
}

// Node retransmits a NACKed socket double-wrapped; the library unwraps it.
func TestNodeRetransmissionAfterNack(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) { runHandlesParent(t, node, "nack") })
}

// A socket sent with a message over the Go child's MaxMessageSize is
// NACKed (every retransmission too) instead of being left unanswered, so
// Node gives up on it and its later messages still arrive.
func TestOversizedHandleIsNacked(t *testing.T) {
	nodetest.ForEach(t, func(t *testing.T, node string) { runHandlesParent(t, node, "oversized") })
}

// handles-oversized adopts the channel with a 1 KiB limit, counts the
// oversized messages reported, and answers the first normal message.
var _ = nodetest.RegisterHelper("handles-oversized", func() int {
	ch, err := nodeipc.FromEnv(&nodeipc.Options{MaxMessageSize: 1024})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", err)
		return 3
	}
	defer ch.Close()
	ctx := context.Background()
	tooLarge := 0
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrMessageTooLarge) {
			tooLarge++
			continue
		}
		var pe *nodeipc.ProtocolError
		if errors.As(err, &pe) {
			continue // the fd that came with it, closed
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "recv:", err)
			return 1
		}
		if string(m.Raw()) == `{"kind":"after"}` {
			break
		}
		fmt.Fprintf(os.Stderr, "unexpected %s\n", m.Raw())
		return 1
	}
	ch.Send(ctx, map[string]any{"got": "after", "tooLarge": tooLarge})
	if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		fmt.Fprintln(os.Stderr, "recv at the end:", err)
		return 1
	}
	return 0
})

// handles-nack answers the parent's first NODE_HANDLE with a NACK by hand,
// then adopts the channel and serves the retransmitted socket.
var _ = nodetest.RegisterHelper("handles-nack", func() int {
	fd := 3
	var buf []byte
	for !bytes.Contains(buf, []byte("\n")) {
		p := make([]byte, 4096)
		oob := make([]byte, syscall.CmsgSpace(4*4))
		n, oobn, _, _, err := syscall.Recvmsg(fd, p, oob, 0)
		if err != nil || n == 0 {
			fmt.Fprintln(os.Stderr, "raw read:", err)
			return 1
		}
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range msgs {
				fds, _ := syscall.ParseUnixRights(&msgs[i])
				for _, f := range fds {
					syscall.Close(f)
				}
			}
		}
		buf = append(buf, p[:n]...)
	}
	if !bytes.HasPrefix(buf, []byte(`{"cmd":"NODE_HANDLE"`)) || !bytes.HasSuffix(buf, []byte("\n")) {
		fmt.Fprintf(os.Stderr, "raw read %q\n", buf)
		return 1
	}
	if _, err := syscall.Write(fd, []byte(`{"cmd":"NODE_HANDLE_NACK"}`+"\n")); err != nil {
		return 1
	}
	ch, code := adopt()
	if ch == nil {
		return code
	}
	defer ch.Close()
	ctx := context.Background()
	m, err := ch.Recv(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "recv:", err)
		return 1
	}
	h := m.Handle()
	if h == nil || string(m.Raw()) != `{"kind":"socket"}` {
		fmt.Fprintf(os.Stderr, "got %s, handle %v\n", m.Raw(), h)
		return 1
	}
	ch.Send(ctx, map[string]string{"got": "socket", "type": string(h.Type), "key": h.Key})
	conn := h.Value.(net.Conn)
	p := make([]byte, 4)
	if _, err := io.ReadFull(conn, p); err != nil {
		return 1
	}
	conn.Write([]byte("go-nack:" + string(p)))
	conn.Close()
	if _, err := ch.Recv(ctx); !errors.Is(err, nodeipc.ErrDisconnected) {
		fmt.Fprintln(os.Stderr, "recv at the end:", err)
		return 1
	}
	return 0
})
