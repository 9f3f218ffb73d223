//go:build unix

package nodeipc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// An advanced-mode NODE_HANDLE over MaxMessageSize is skipped, reported and
// answered with NACK, so the sender is not left waiting; the next message
// is received.
func TestOversizedAdvancedHandleIsNacked(t *testing.T) {
	mine, raw := unixPair(t)
	ch, err := NewChannel(mine, &Options{Serialization: Advanced, MaxMessageSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	frame := func(v any) []byte {
		p, err := appendV8(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
	}
	big := frame(jsonObject{"cmd": "NODE_HANDLE", "type": "net.Socket", "msg": strings.Repeat("x", 4096)})
	if _, err := raw.Write(append(big, frame("after")...)); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Recv(ctx); !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "NODE_HANDLE_NACK") {
		t.Fatalf("first Recv: %v; want ErrMessageTooLarge answered with a NACK", err)
	}
	m, err := ch.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := m.Decode(&s); err != nil || s != "after" {
		t.Fatalf("second message %q, %v", s, err)
	}
	head := make([]byte, 4)
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(raw, head); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(head))
	if _, err := io.ReadFull(raw, body); err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	if err := decodeV8(body, &reply); err != nil || reply["cmd"] != "NODE_HANDLE_NACK" {
		t.Fatalf("reply %v, %v; want NODE_HANDLE_NACK", reply, err)
	}
}
