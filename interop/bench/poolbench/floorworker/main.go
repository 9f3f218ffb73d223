//go:build unix

// Command floorworker is the floor of the pool benchmark's workerpool
// pairings (interop/bench/poolbench): the least a worker can do for
// workerpool's methods add, echo and hash, without the nodeipc library. It reads
// its channel (NODE_CHANNEL_FD, json serialization) with blocking reads,
// decodes each request with encoding/json, and writes each answer with one
// write; no goroutines, no polling, no scheduler in the way.
//
// workerpool>floor is not a product: it shows, in the same run, how fast
// workerpool's parent goes with workers that cost next to nothing. When
// workerpool>go reaches it, what limits that pairing is the parent, not
// the Go worker.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"nodeipc.dev/interop/bench/poolbench/internal/hashwork"
)

// request is a workerpool request: {"id":N,"method":M,"params":[...]}, or
// the string "__workerpool-terminate__".
type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func main() {
	fd, err := strconv.Atoi(os.Getenv("NODE_CHANNEL_FD"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floorworker: no NODE_CHANNEL_FD")
		os.Exit(2)
	}
	if err := serve(fd); err != nil {
		fmt.Fprintln(os.Stderr, "floorworker:", err)
		os.Exit(1)
	}
}

func serve(fd int) error {
	if err := syscall.SetNonblock(fd, false); err != nil {
		return err
	}
	if err := writeAll(fd, []byte("\"ready\"\n")); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	var pending, out []byte
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // the parent closed the channel
		}
		pending = append(pending, buf[:n]...)
		out = out[:0]
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			line := pending[:i]
			pending = pending[i+1:]
			if bytes.Equal(bytes.TrimSpace(line), []byte(`"__workerpool-terminate__"`)) {
				return writeAll(fd, out)
			}
			if out, err = answer(out, line); err != nil {
				return err
			}
		}
		pending = append(pending[:0:0], pending...)
		if err := writeAll(fd, out); err != nil {
			return err
		}
	}
}

// answer appends the answer to one request line.
func answer(out, line []byte) ([]byte, error) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return out, fmt.Errorf("request %q: %w", line, err)
	}
	var result []byte
	switch {
	case req.Method == "add" && len(req.Params) == 2:
		a, err1 := strconv.ParseFloat(string(req.Params[0]), 64)
		b, err2 := strconv.ParseFloat(string(req.Params[1]), 64)
		if err1 != nil || err2 != nil {
			return out, fmt.Errorf("add params %s", line)
		}
		result = strconv.AppendFloat(nil, a+b, 'f', -1, 64)
	case req.Method == "echo" && len(req.Params) == 1:
		result = req.Params[0]
	case req.Method == "hash" && len(req.Params) == 1:
		i, err := strconv.Atoi(string(req.Params[0]))
		if err != nil {
			return out, fmt.Errorf("hash params %s", line)
		}
		result = strconv.AppendQuote(nil, hashwork.Hash(i))
	default:
		return out, fmt.Errorf("unknown request %s", line)
	}
	out = append(out, `{"id":`...)
	out = append(out, req.ID...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	return append(out, ",\"error\":null}\n"...), nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
