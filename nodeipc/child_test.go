//go:build linux

package nodeipc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"nodeipc.dev/internal/nodetest"
	"nodeipc.dev/nodeipc"
)

func TestFromEnvErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	dgram, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dgram[0])
	defer syscall.Close(dgram[1])
	stream, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(stream[1])
	defer syscall.Close(stream[0])

	tests := []struct {
		name, fd, mode string
		want           error
	}{
		{"unset", "", "", nodeipc.ErrNoChannel},
		{"not a number", "abc", "json", nodeipc.ErrInvalidChannel},
		{"negative", "-1", "json", nodeipc.ErrInvalidChannel},
		{"not open", "987", "json", nodeipc.ErrInvalidChannel},
		{"a pipe", strconv.Itoa(int(r.Fd())), "json", nodeipc.ErrInvalidChannel},
		{"a datagram socket", strconv.Itoa(dgram[0]), "json", nodeipc.ErrInvalidChannel},
		{"unknown mode", strconv.Itoa(stream[0]), "JSON", nodeipc.ErrInvalidChannel},
		{"bogus mode", strconv.Itoa(stream[0]), "bogus", nodeipc.ErrInvalidChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NODE_CHANNEL_FD", tt.fd)
			t.Setenv("NODE_CHANNEL_SERIALIZATION_MODE", tt.mode)
			ch, err := nodeipc.FromEnv(nil)
			if err == nil {
				ch.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("FromEnv() = %v; want %v", err, tt.want)
			}
			for _, name := range []string{"NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE"} {
				if v, ok := os.LookupEnv(name); ok {
					t.Errorf("%s=%q still set after FromEnv", name, v)
				}
			}
		})
	}
}

func TestFromEnvAdoptsAnyFDAndParsesLikeNode(t *testing.T) {
	for _, fdText := range []string{"%d", " %dx"} { // parseInt(' 4x') is 4
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		peer := os.NewFile(uintptr(fds[1]), "peer")
		t.Setenv("NODE_CHANNEL_FD", fmt.Sprintf(fdText, fds[0]))
		t.Setenv("NODE_CHANNEL_SERIALIZATION_MODE", "")
		ch, err := nodeipc.FromEnv(nil)
		if err != nil {
			t.Fatalf("FromEnv(%q) = %v", fdText, err)
		}
		if ch.Serialization() != nodeipc.JSON {
			t.Errorf("empty mode gave %v; want json", ch.Serialization())
		}
		// The original fd was replaced by a close-on-exec duplicate.
		if _, err := fcntlGetFD(fds[0]); err == nil {
			t.Errorf("fd %d still open after adoption", fds[0])
		}
		ctx := testCtx(t)
		if err := ch.Send(ctx, "hi"); err != nil {
			t.Fatal(err)
		}
		ch.Close()
		buf := make([]byte, 16)
		n, _ := peer.Read(buf)
		if string(buf[:n]) != "\"hi\"\n" {
			t.Errorf("peer read %q", buf[:n])
		}
		peer.Close()
	}
}

func fcntlGetFD(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// Go child helpers, run by the test binary itself (see helper_test.go).
var _ = nodetest.RegisterHelper("echo", func() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx := context.Background()
	for {
		m, err := ch.Recv(ctx)
		if errors.Is(err, nodeipc.ErrDisconnected) {
			return boolExit(ch.Close() == nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "recv:", err)
			continue
		}
		var v any
		if err := m.Decode(&v); err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			continue
		}
		if err := ch.Send(ctx, v); err != nil {
			fmt.Fprintln(os.Stderr, "send:", err)
			return 4
		}
	}
})

// "envcheck" reports its channel variables, its open fds, and what a
// grandchild it starts sees.
var _ = nodetest.RegisterHelper("envcheck", func() int {
	ch, err := nodeipc.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer ch.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=grandchild")
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "grandchild:", err)
		return 5
	}
	report := map[string]any{
		"fd":         os.Getenv("NODE_CHANNEL_FD"),
		"mode":       os.Getenv("NODE_CHANNEL_SERIALIZATION_MODE"),
		"grandchild": strings.TrimSpace(string(out)),
	}
	if err := ch.Send(context.Background(), report); err != nil {
		return 4
	}
	return 0
})

var _ = nodetest.RegisterHelper("grandchild", nodetest.ReportInherited)

func boolExit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func helperCmd(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestStartGoChildEcho(t *testing.T) {
	cmd := helperCmd("echo")
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	values := []string{`{"a":[1,2,{"b":null}]}`, `"ß\u2028"`, `12.5`}
	for _, v := range values {
		if err := ch.Send(ctx, []byte(v)); err != nil { // []byte is base64 JSON
			t.Fatal(err)
		}
	}
	for range values {
		if _, err := ch.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Send(ctx, map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	m, err := ch.Recv(ctx)
	if err != nil || string(m.Raw()) != `{"k":"v"}` {
		t.Fatalf("Recv = %v, %v", m, err)
	}
	if err := ch.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("echo child exited with %v; want 0 after disconnect", err)
	}
}

func TestStartEnvironmentAndGrandchild(t *testing.T) {
	cmd := helperCmd("envcheck")
	// Inherited channel variables must not reach the child.
	cmd.Env = append(cmd.Env, "NODE_CHANNEL_FD=99", "NODE_UNIQUE_ID=7", "NODE_CHANNEL_SERIALIZATION_MODE=advanced")
	ch, err := nodeipc.Start(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	m, err := ch.Recv(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ FD, Mode, Grandchild string }
	if err := m.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.FD != "" || got.Mode != "" {
		t.Errorf("child still sees NODE_CHANNEL_FD=%q NODE_CHANNEL_SERIALIZATION_MODE=%q", got.FD, got.Mode)
	}
	if got.Grandchild != "vars=false,false sockets=[]" {
		t.Errorf("grandchild saw %q; want no variables and no inherited socket", got.Grandchild)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestStartFailureClosesBothEnds(t *testing.T) {
	before := countFDs(t)
	cmd := exec.Command("/nonexistent/program")
	if _, err := nodeipc.Start(cmd, nil); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
	if after := countFDs(t); after != before {
		t.Errorf("open fds went from %d to %d after a failed Start", before, after)
	}
	if len(cmd.ExtraFiles) != 0 {
		t.Errorf("Start left %d ExtraFiles in cmd", len(cmd.ExtraFiles))
	}
}

// countFDs counts the open fds, except a watch clock's timerfd: the library
// keeps it while a lent read token is watched (transport_linux.go), which
// can start or end between two counts without any fault of the code tested.
func countFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range entries {
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && link == "anon_inode:[timerfd]" {
			continue
		}
		n++
	}
	return n
}
