package nodeipc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockPair returns a sock and the *net.UnixConn at the other end.
func sockPair(t *testing.T) (*sock, *net.UnixConn) {
	t.Helper()
	mine, peer := unixPair(t)
	s, ok := adoptUnix(mine).(*sock)
	if !ok {
		t.Fatal("adoptUnix did not make a sock")
	}
	t.Cleanup(func() { s.Close() })
	return s, peer
}

// untilOutHolds waits until out holds the socket: a write waits for room.
func untilOutHolds(t *testing.T, s *sock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(epollTargets(t, s.out)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("out never held the socket: no write waited")
		}
		time.Sleep(time.Millisecond)
	}
}

// epollTargets returns the descriptors an epoll file holds, from
// /proc/self/fdinfo ("tfd:" lines).
func epollTargets(t *testing.T, f *os.File) []string {
	t.Helper()
	var fd uintptr
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(x uintptr) { fd = x })
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "tfd:" {
			out = append(out, f[1])
		}
	}
	return out
}

func TestSockWaitsForRoomOnlyWhileAWriteWaits(t *testing.T) {
	s, peer := sockPair(t)
	if got := epollTargets(t, s.out); len(got) != 0 {
		t.Fatalf("out holds %v before any write; want nothing", got)
	}
	if got, want := epollTargets(t, s.in), []string{fmt.Sprint(s.fd)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("in holds %v; want %v", got, want)
	}
	// 8 MiB cannot fit in the socket buffers: the write must wait for the
	// peer, with out holding the socket, and finish when the peer reads.
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<19)
	werr := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		werr <- err
	}()
	untilOutHolds(t, s)
	got := make([]byte, len(data))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the peer read other bytes than were written")
	}
	if got := epollTargets(t, s.out); len(got) != 0 {
		t.Fatalf("out holds %v after the write went through; want nothing", got)
	}
}

func TestSockCloseWakesReadAndWrite(t *testing.T) {
	s, _ := sockPair(t)
	rerr, werr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 16))
		rerr <- err
	}()
	go func() {
		_, err := s.Write(make([]byte, 16<<20)) // more than the buffers take
		werr <- err
	}()
	untilOutHolds(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, c := range map[string]chan error{"Read": rerr, "Write": werr} {
		if err := <-c; !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Close = %v; want net.ErrClosed", name, err)
		}
	}
	if err := s.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v; want net.ErrClosed", err)
	}
}

func TestSockReadDeadlineAndEOF(t *testing.T) {
	s, peer := sockPair(t)
	s.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := s.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline = %v; want os.ErrDeadlineExceeded", err)
	}
	s.SetReadDeadline(time.Time{})
	if _, err := peer.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := s.Read(buf)
	if err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("Read = %q, %v; want \"hi\"", buf[:n], err)
	}
	if err := peer.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(buf); err != io.EOF {
		t.Fatalf("Read after the peer's CloseWrite = %v; want io.EOF", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if n, err := peer.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("peer Read after CloseWrite = %d, %v; want 0, io.EOF", n, err)
	}
}

func TestSockPassesFDs(t *testing.T) {
	s, peer := sockPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, oobn, err := s.WriteMsgUnix([]byte("fd"), unix.UnixRights(int(w.Fd())), nil)
	w.Close()
	if err != nil || n != 2 || oobn == 0 {
		t.Fatalf("WriteMsgUnix = %d, %d, %v", n, oobn, err)
	}
	buf, oob := make([]byte, 8), make([]byte, 64)
	n, oobn, _, _, err = peer.ReadMsgUnix(buf, oob)
	if err != nil || string(buf[:n]) != "fd" {
		t.Fatalf("peer ReadMsgUnix = %q, %v", buf[:n], err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v, %v", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("rights: %v, %v", fds, err)
	}
	got := os.NewFile(uintptr(fds[0]), "passed")
	if _, err := got.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	got.Close()
	one := make([]byte, 1)
	if _, err := r.Read(one); err != nil || one[0] != 'x' {
		t.Fatalf("the passed fd is not the pipe: %q, %v", one, err)
	}
}
