//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nodeipc.dev/nodeipc"
)

// Hostile is what a Go child (nodeipc.FromEnv, decoding each message and
// sending it back) made of one hostile input.
type Hostile struct {
	Name          string  `json:"name"`
	Serialization string  `json:"serialization"`
	Bytes         int64   `json:"bytes"`
	Want          string  `json:"want"`   // the sentinel the input must be reported with
	Class         string  `json:"class"`  // the sentinel it was reported with ("" if none)
	Where         string  `json:"where"`  // "Recv", "Decode", "Send" or ""
	Report        string  `json:"report"` // the error text
	NextDelivered bool    `json:"next_delivered"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	FDs           [2]int  `json:"fds"`        // before and after
	Goroutines    [2]int  `json:"goroutines"` // before and after
	Limit         int     `json:"limit"`
}

// hostileInput writes one input to the raw parent end of the channel.
type hostileInput struct {
	name  string
	mode  nodeipc.Serialization
	want  string
	data  []byte                      // the input, or
	write func(c *net.UnixConn) error // what writes it,
	size  int64                       // and how many bytes that is
	// after: the valid message goes before the input (which ends the
	// stream) rather than after it.
	before bool
}

// The valid message that follows each input, and its echo.
var (
	jsonMarker = []byte("\"after\"\n")
	v8Marker   = frame([]byte("\xff\x0f\"\x05after"))
)

func frame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// filler writes head, n bytes of 'x', then tail.
func filler(head []byte, n int64, tail string) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		if _, err := c.Write(head); err != nil {
			return err
		}
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if _, err := c.Write(chunk[:k]); err != nil {
				return err
			}
			n -= k
		}
		_, err := c.Write([]byte(tail))
		return err
	}
}

func hostileInputs(limit int) []hostileInput {
	if limit == 0 {
		limit = nodeipc.DefaultMaxMessageSize
	}
	over := int64(limit) * 300 / 256  // 300 MiB for the default limit
	under := int64(limit) * 200 / 256 // 200 MiB for the default limit
	deepJSON := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n"
	deepV8 := []byte("\xff\x0f")
	for range 1001 {
		deepV8 = append(deepV8, 'A', 1)
	}
	deepV8 = append(deepV8, '0')
	for range 1001 {
		deepV8 = append(deepV8, '$', 0, 1)
	}
	handleJSON := []byte(`{"cmd":"NODE_HANDLE","type":"net.Socket","msg":{"x":1}}` + "\n")
	handleV8 := frame([]byte("\xff\x0fo\"\x03cmd\"\x0bNODE_HANDLE\"\x04type\"\x0anet.Socket\"\x03msgo{\x00{\x03"))
	J, A := nodeipc.JSON, nodeipc.Advanced
	return []hostileInput{
		{name: "malformed JSON", mode: J, want: "ErrInvalidMessage", data: []byte("{\"a\":\n")},
		{name: "invalid UTF-8", mode: J, want: "ErrInvalidMessage", data: []byte("\"\xff\xfe\"\n")},
		{name: "empty line", mode: J, want: "ErrInvalidMessage", data: []byte("\n")},
		{name: "JSON nested 100,000 deep", mode: J, want: "other", data: []byte(deepJSON)},
		{name: "NODE_HANDLE without an fd", mode: J, want: "ErrInvalidHandle", data: handleJSON},
		{name: "unknown NODE_ internal message", mode: J, want: "", data: []byte(`{"cmd":"NODE_SOAK_UNKNOWN"}` + "\n")},
		{name: "an fd with a plain message", mode: J, want: "ErrInvalidHandle", write: withFD([]byte(`{"a":1}` + "\n")), size: 8},
		{name: fmt.Sprintf("unterminated line of %d MiB", over>>20), mode: J, want: "ErrMessageTooLarge",
			write: filler([]byte(`"`), over, "\"\n"), size: over + 3},
		{name: "EOF inside a line", mode: J, want: "io.ErrUnexpectedEOF", data: []byte(`{"half":`), before: true},

		{name: "frame without a V8 header", mode: A, want: "ErrInvalidMessage", data: frame([]byte("abc"))},
		{name: "empty frame", mode: A, want: "ErrInvalidMessage", data: frame(nil)},
		{name: "V8 version 11", mode: A, want: "ErrInvalidMessage", data: frame([]byte("\xff\x0b\"\x01a"))},
		{name: "string longer than its frame", mode: A, want: "ErrInvalidMessage", data: frame([]byte("\xff\x0f\"\x05ab"))},
		{name: "unknown V8 tag", mode: A, want: "ErrInvalidMessage", data: frame([]byte("\xff\x0f\x01"))},
		{name: "arrays nested 1,001 deep", mode: A, want: "ErrInvalidMessage", data: frame(deepV8)},
		{name: "sparse array of length 2^32-1", mode: A, want: "", data: frame([]byte("\xff\x0fa\xff\xff\xff\xff\x0f@\x00\xff\xff\xff\xff\x0f"))},
		{name: "NODE_HANDLE without an fd", mode: A, want: "ErrInvalidHandle", data: handleV8},
		{name: fmt.Sprintf("frame of %d MiB over the limit", over>>20), mode: A, want: "ErrMessageTooLarge",
			write: filler(binary.BigEndian.AppendUint32(nil, uint32(over)), over, ""), size: over + 4},
		{name: fmt.Sprintf("garbage frame of %d MiB under the limit", under>>20), mode: A, want: "ErrInvalidMessage",
			write: filler(binary.BigEndian.AppendUint32(nil, uint32(under)), under, ""), size: under + 4},
		{name: fmt.Sprintf("EOF inside a frame declaring %d MiB", limit>>21), mode: A, want: "io.ErrUnexpectedEOF",
			data: append(binary.BigEndian.AppendUint32(nil, uint32(limit/2)), "\xff\x0f"...), before: true},
	}
}

// withFD writes b with an fd (of /dev/null) attached.
func withFD(b []byte) func(*net.UnixConn) error {
	return func(c *net.UnixConn) error {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return err
		}
		defer f.Close()
		_, _, err = c.WriteMsgUnix(b, syscall.UnixRights(int(f.Fd())), nil)
		return err
	}
}

func hostileCatalogue(ctx context.Context, env Env, cfg Config) ([]Hostile, error) {
	var out []Hostile
	for _, in := range hostileInputs(cfg.HostileLimit) {
		h, err := hostileRun(ctx, env, cfg.HostileLimit, in)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", in.name, in.mode, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// hostileRun starts a fresh Go child, writes one input and the valid
// message, waits for the echo of the valid message, disconnects and
// collects what the child reported.
func hostileRun(ctx context.Context, env Env, limit int, in hostileInput) (Hostile, error) {
	h := Hostile{Name: in.name, Serialization: in.mode.String(), Want: in.want, Limit: limit, Bytes: in.size}
	if in.write == nil {
		data := in.data
		in.write = func(c *net.UnixConn) error { _, err := c.Write(data); return err }
		h.Bytes = int64(len(data))
	}
	if h.Limit == 0 {
		h.Limit = nodeipc.DefaultMaxMessageSize
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return h, err
	}
	parentFile, childFile := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	cmd := exec.CommandContext(ctx, env.Self)
	cmd.Env = append(os.Environ(), "SOAK_ROLE=echo", "SOAK_LIMIT="+strconv.Itoa(limit),
		"NODE_CHANNEL_FD=3", "NODE_CHANNEL_SERIALIZATION_MODE="+in.mode.String())
	cmd.ExtraFiles = []*os.File{childFile}
	cmd.Stderr = os.Stderr
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Start()
	childFile.Close()
	if err != nil {
		parentFile.Close()
		return h, err
	}
	fc, err := net.FileConn(parentFile)
	parentFile.Close()
	if err != nil {
		kill(cmd.Process.Pid)
		cmd.Wait()
		return h, err
	}
	conn := fc.(*net.UnixConn)
	marker := jsonMarker
	if in.mode == nodeipc.Advanced {
		marker = v8Marker
	}
	// Read the echoes while writing: a valid input is echoed too.
	found := make(chan bool, 1)
	go func() { found <- readUntil(conn, marker) }()
	conn.SetDeadline(time.Now().Add(time.Minute))
	if in.before {
		_, err = conn.Write(marker)
		if err == nil {
			err = in.write(conn)
		}
		if err == nil {
			err = conn.CloseWrite()
		}
	} else {
		err = in.write(conn)
		if err == nil {
			_, err = conn.Write(marker)
		}
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		conn.Close()
		cmd.Wait()
		return h, err
	}
	h.NextDelivered = <-found
	conn.Close()
	if err := cmd.Wait(); err != nil {
		return h, fmt.Errorf("Go child: %v", err)
	}
	for line := range bytes.Lines(stdout.Bytes()) {
		var ev childEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return h, fmt.Errorf("child output %q: %v", line, err)
		}
		switch ev.Kind {
		case "error", "decode", "send":
			if h.Class == "" {
				h.Class, h.Report = ev.Class, shortError(ev.Error)
				h.Where = map[string]string{"error": "Recv", "decode": "Decode", "send": "Send"}[ev.Kind]
			}
		case "stats":
			h.FDs = [2]int{ev.Start.FDs, ev.End.FDs}
			h.Goroutines = [2]int{ev.Start.Goroutines, ev.End.Goroutines}
			h.PeakRSSMiB = ev.End.PeakRSSMiB
		}
	}
	return h, nil
}

// readUntil reads echoes until marker comes back, or the stream ends.
func readUntil(c *net.UnixConn, marker []byte) bool {
	r := bufio.NewReaderSize(c, 64<<10)
	if marker[len(marker)-1] == '\n' {
		for {
			line, err := r.ReadBytes('\n')
			if bytes.Equal(line, marker) {
				return true
			}
			if err != nil {
				return false
			}
		}
	}
	for {
		var head [4]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return false
		}
		p := make([]byte, binary.BigEndian.Uint32(head[:]))
		if _, err := io.ReadFull(r, p); err != nil {
			return false
		}
		if bytes.Equal(append(head[:], p...), marker) {
			return true
		}
	}
}

// shortError drops the excerpt from a ProtocolError's text.
func shortError(s string) string {
	if i := strings.Index(s, " (starts "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimPrefix(s, "nodeipc: ")
	if len(s) > 140 {
		s = s[:140] + "…"
	}
	return s
}
