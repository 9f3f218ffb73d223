//go:build linux

package interop_test

import (
	"nodeipc.dev/internal/nodetest"

	"bufio"
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

	"nodeipc.dev/nodeipc"
)

// The inputs that crash a Node peer (protocol notes §2.3, §12), in one
// stream, each followed by a valid message that must not be lost.
const hostileStream = "" +
	"{\"n\":1}\n" +
	"not json\n" +
	"{\"n\":2}\n" +
	"\n" +
	"{\"n\":3}\n" +
	"\"\xff\xfe\"\n" +
	"{\"n\":4}\n" +
	"\"LONG_LINE_PLACEHOLDER\"\n" +
	"{\"n\":5}\n" +
	"{\"half\":"

func hostileInput() string {
	return strings.Replace(hostileStream, "LONG_LINE_PLACEHOLDER", strings.Repeat("L", 5000), 1)
}

// wantHostileResults checks what a channel made of hostileInput.
func wantHostileResults(t *testing.T, got []string) {
	t.Helper()
	want := []string{
		`msg {"n":1}`, "err invalid", `msg {"n":2}`, "err invalid", `msg {"n":3}`, "err invalid",
		`msg {"n":4}`, "err too-large", `msg {"n":5}`, "err truncated", "end disconnected",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// classify receives until the end and names each result.
func classify(ctx context.Context, ch *nodeipc.Channel) []string {
	var out []string
	for {
		m, err := ch.Recv(ctx)
		switch {
		case err == nil:
			out = append(out, "msg "+string(m.Raw()))
			continue
		case errors.Is(err, nodeipc.ErrDisconnected):
			return append(out, "end disconnected")
		case errors.Is(err, nodeipc.ErrMessageTooLarge):
			out = append(out, "err too-large")
		case errors.Is(err, io.ErrUnexpectedEOF):
			out = append(out, "err truncated")
		case errors.Is(err, nodeipc.ErrInvalidMessage):
			out = append(out, "err invalid")
		default:
			return append(out, "end "+err.Error())
		}
		var perr *nodeipc.ProtocolError
		if !errors.As(err, &perr) || perr.Offset < 0 {
			out = append(out, "error without offset: "+err.Error())
		}
	}
}

// A Go parent facing a hostile child (a shell script writing bytes to fd 3).
func TestHostileChild(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "input")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(hostileInput())
	f.Close()
	cmd := exec.Command("sh", "-c", `cat "$1" >&3`, "sh", f.Name())
	cmd.Stderr = os.Stderr
	ch, err := nodeipc.Start(cmd, &nodeipc.Options{MaxMessageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	wantHostileResults(t, classify(ctxFor(t), ch))
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// "report" adopts the channel with a 1000-byte limit and reports every
// receive result on stdout.
var _ = nodetest.RegisterHelper("report", func() int {
	ch, err := nodeipc.FromEnv(&nodeipc.Options{MaxMessageSize: 1000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer ch.Close()
	for _, line := range classify(context.Background(), ch) {
		fmt.Println(line)
	}
	return 0
})

// A Go child facing a hostile parent (a raw socket written by hand).
func TestHostileParent(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parentFile := os.NewFile(uintptr(fds[0]), "parent")
	childFile := os.NewFile(uintptr(fds[1]), "child")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NODEIPC_TEST_HELPER=report", "NODE_CHANNEL_FD=3", "NODE_CHANNEL_SERIALIZATION_MODE=json")
	cmd.ExtraFiles = []*os.File{childFile}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childFile.Close()
	conn, err := net.FileConn(parentFile)
	parentFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(hostileInput())); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var got []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("Go child: %v", err)
	}
	wantHostileResults(t, got)
}
