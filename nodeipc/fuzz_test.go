package nodeipc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"nodeipc.dev/nodeipc"
)

// chunkedConn feeds data to a Channel in pieces of a given size, then EOF.
type chunkedConn struct {
	data  []byte
	chunk int
}

func (c *chunkedConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.chunk, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}
func (c *chunkedConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *chunkedConn) Close() error                { return nil }

// expectJSON is an independent model of the JSON reader: what Recv must
// return for input, computed with encoding/json.
func expectJSON(input []byte) []string {
	var out []string
	lines := bytes.Split(input, []byte("\n"))
	for i, line := range lines {
		last := i == len(lines)-1
		trimmed := bytes.Trim(line, " \t\r\n")
		if last {
			if len(trimmed) > 0 {
				out = append(out, "truncated")
			}
			break
		}
		switch {
		case len(trimmed) == 0, !utf8.Valid(trimmed), !json.Valid(trimmed):
			out = append(out, "invalid")
		case isInternal(trimmed):
			if internalCmd(trimmed) == "NODE_HANDLE" {
				out = append(out, "invalid") // no fd can come on this conn
			}
		default:
			out = append(out, "msg "+string(trimmed))
		}
	}
	return append(out, "end")
}

func isInternal(b []byte) bool {
	cmd := internalCmd(b)
	return len([]rune(cmd)) > 5 && strings.HasPrefix(cmd, "NODE_")
}

// internalCmd returns the top-level "cmd" string of the JSON text b, or "".
func internalCmd(b []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return ""
	}
	var cmd string
	if json.Unmarshal(top["cmd"], &cmd) != nil {
		return ""
	}
	return cmd
}

func FuzzJSONReader(f *testing.F) {
	for _, seed := range []string{
		"{\"a\":1}\n[1,2]\n",
		"\n\n\"x\"\r\n",
		"not json\n{\"ok\":true}\n",
		"\"\xff\"\n1\n",
		"{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\"}\n{\"cmd\":\"NODE_\"}\n",
		"{\"c\\u006dd\":\"NODE_X\"}\n{\"cmd\":\"NODE_A\",\"cmd\":\"x\"}\n",
		"\"ß€😀\"\n{\"half\":",
		"  {\"a\" : [ 1 , 2 ] }  \n",
		"1e999\n-0\n0.1e-5\n01\n",
		"{\"a\":1}{\"b\":2}\n",
		"\"\\ud800\"\n",
	} {
		f.Add([]byte(seed), uint8(3))
	}
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8) {
		conn := &chunkedConn{data: bytes.Clone(input), chunk: int(chunk%64) + 1}
		ch, err := nodeipc.NewChannel(conn, &nodeipc.Options{MaxMessageSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		ctx := context.Background()
		var got []string
		for {
			m, err := ch.Recv(ctx)
			if err == nil {
				got = append(got, "msg "+string(m.Raw()))
				// Decoding may fail (1e999 does not fit a float64) but must
				// not panic.
				var v any
				_ = m.Decode(&v)
				continue
			}
			if errors.Is(err, nodeipc.ErrDisconnected) {
				got = append(got, "end")
				break
			}
			var perr *nodeipc.ProtocolError
			if !errors.As(err, &perr) {
				t.Fatalf("Recv error %v is not a ProtocolError", err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				got = append(got, "truncated")
			} else {
				got = append(got, "invalid")
			}
		}
		want := expectJSON(input)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("input %q (chunks of %d):\n got %q\nwant %q", input, conn.chunk, got, want)
		}
	})
}
