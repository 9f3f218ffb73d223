//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
)

// TestShortSuite runs the reliability suite with its small counts (the
// same run as `go run ./interop/soak -short`) and fails on every figure
// that breaks a guarantee (Report.Check). The Go roles run in a build of
// this command, the CLI in a build of cmd/nodeipc: real processes, not this
// test binary, so their memory figures are those of ordinary builds.
func TestShortSuite(t *testing.T) {
	var list []Node
	for _, b := range nodetest.All(t) {
		list = append(list, Node{Name: b.Name, Path: b.Path})
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "soak"), ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build ./interop/soak: %v", err)
	}
	env, err := setup(dir, list)
	if err != nil {
		t.Fatal(err)
	}
	env.Self = filepath.Join(dir, "soak")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, env, ShortConfig, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Check() {
		t.Error(p)
	}

	// Every part ran, with the counts asked for.
	if want := 4 * len(list); len(rep.Messaging) != want {
		t.Errorf("%d message soaks; want %d (2 roles × 2 serializations × %d Node)", len(rep.Messaging), want, len(list))
	}
	for _, m := range rep.Messaging {
		if m.Sent != ShortConfig.Messages {
			t.Errorf("%s %s %s sent %d messages; want %d", m.Role, m.Serialization, m.Node, m.Sent, ShortConfig.Messages)
		}
	}
	if rep.Cycles.Cycles != ShortConfig.Cycles || len(rep.ParentKill) != len(list) || len(rep.ParentDeath) != 2 ||
		len(rep.Pool) != 2 || rep.Stopped.Accepted == 0 || len(rep.Hostile) != len(hostileInputs(ShortConfig.HostileLimit)) {
		t.Errorf("incomplete report: %+v", rep)
	}
	for _, p := range rep.Pool {
		if p.Kills == 0 {
			t.Errorf("pool retry %v: no worker was killed", p.Retry)
		}
	}

	// The report is written, and its JSON reads back.
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "reliability.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Hostile) != len(rep.Hostile) {
		t.Errorf("reliability.json: %v, %d hostile inputs", err, len(back.Hostile))
	}
	md, err := os.ReadFile(filepath.Join(dir, "reliability.md"))
	if err != nil || !strings.Contains(string(md), "| json | unterminated line of") {
		t.Errorf("reliability.md: %v\n%s", err, md)
	}
}

// testWriter sends the suite's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
