package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Subjects, headers and values of the protocol (PROTOCOL.md in this
// directory is the specification).
const (
	protocolVersion = "1"

	queueGroup = "agents"

	// Headers of a call (client to agent).
	hVersion   = "Nodeipc-Version"
	hMethod    = "Nodeipc-Method"
	hTimeout   = "Nodeipc-Timeout"    // milliseconds left, rounded up
	hIdem      = "Nodeipc-Idempotent" // "true"
	hClient    = "Nodeipc-Client"     // the client's inbox prefix
	hLostAfter = "Nodeipc-Lost-After" // milliseconds of silence after which each side gives the other up

	// Headers of the agent's messages to a client.
	hReply     = "Nodeipc-Reply" // one of the reply kinds below
	hAgent     = "Nodeipc-Agent" // the agent's id
	hAgentName = "Nodeipc-Agent-Name"
	hFree      = "Nodeipc-Free"  // free slots after this message
	hError     = "Nodeipc-Error" // the kind of an error reply

	// Status is the header NATS puts on a status message; 503 is
	// "no responders": nobody subscribes to the subject.
	hStatus      = "Status"
	noResponders = "503"

	// Reply kinds.
	replyAccepted = "accepted"
	replyBusy     = "busy"
	replyEvent    = "event"
	replyResult   = "result"
	replyError    = "error"
	replyPong     = "pong"
	replyFree     = "free"

	// Error kinds.
	errCall     = "call"     // the method failed: a CallError
	errWorker   = "worker"   // the worker died: a WorkerError
	errDeadline = "deadline" // the call's deadline passed on the agent
	errTooLarge = "too-large"
	errLost     = "lost"    // the agent stopped before the call ended
	errRefused  = "refused" // the agent refused to run the call
)

// subjects are the subjects of one pool.
type subjects struct {
	call   string // the queue group's subject
	room   string // probes, to every agent
	prefix string // "nodeipc.<pool>."
}

func poolSubjects(pool string) (subjects, error) {
	if err := checkPoolName(pool); err != nil {
		return subjects{}, err
	}
	p := "nodeipc." + pool + "."
	return subjects{call: p + "call", room: p + "room", prefix: p}, nil
}

// agent returns the subject of an agent's direct requests: "call", "ping"
// or "cancel".
func (s subjects) agent(id, what string) string {
	return s.prefix + "agent." + id + "." + what
}

// checkPoolName accepts names NATS can use as one subject token, as
// nats.go/micro does for service names.
func checkPoolName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("nodeipc: remote: pool name %q: want 1 to 128 letters, digits, '-' or '_'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("nodeipc: remote: pool name %q: want 1 to 128 letters, digits, '-' or '_'", name)
		}
	}
	return nil
}

// checkMethod refuses method names a header cannot carry.
func checkMethod(m string) error {
	if m == "" {
		return errors.New("nodeipc: remote: Do: empty Method")
	}
	if strings.ContainsAny(m, "\r\n") {
		return fmt.Errorf("nodeipc: remote: Do: method %q contains a line break", m)
	}
	return nil
}

// headerSize is the size of h as NATS encodes it ("NATS/1.0\r\n", one
// "key: value\r\n" per value, "\r\n"), which counts in the server's
// max_payload with the data.
func headerSize(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// millis encodes d in whole milliseconds, rounded up.
func millis(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(int64(ms), 10)
}

// parseMillis decodes a millisecond header; ok is false if it is absent or
// not a positive integer.
func parseMillis(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > int64(365*24*time.Hour/time.Millisecond) {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// wireWorkerError is the body of an error reply of kind "worker".
type wireWorkerError struct {
	Worker string   `json:"worker"`
	Reason string   `json:"reason"`
	Stderr []string `json:"stderr,omitempty"`
}

// wireMessage is the body of the other error replies.
type wireMessage struct {
	Message string `json:"message"`
}

func messageBody(format string, args ...any) []byte {
	b, _ := json.Marshal(wireMessage{Message: fmt.Sprintf(format, args...)})
	return b
}
