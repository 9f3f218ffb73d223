package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"nodeipc.dev/internal/nodetest"
)

// rate is a rate in a results row: a median, then [min–max].
var rate = regexp.MustCompile(`\| [0-9.]+k? \[[0-9.]+k?–[0-9.]+k?\]`)

// TestPoolbenchRuns runs the pool benchmark small, so that none of its
// configurations can rot: every pool starts, every call's answer is
// checked (run fails on a wrong one), and the page lists every
// configuration with a rate.
func TestPoolbenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen Node and Go processes")
	}
	node := nodetest.System(t)
	nodetest.RequireModule(t, "workerpool")
	out := filepath.Join(t.TempDir(), "pool.md")
	o := options{n: 300, reps: 1, callers: 8, warmup: 50, node: node, out: out}
	if err := run(nodetest.Root(), &o); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range allConfigs() {
		row := "| " + c.Name + " | "
		i := strings.Index(string(page), row)
		if i < 0 {
			t.Errorf("the page has no results row for %s", c.Name)
			continue
		}
		line := string(page[i:])
		line = line[:strings.IndexByte(line, '\n')]
		if !rate.MatchString(line) {
			t.Errorf("the row of %s has no rates: %s", c.Name, line)
		}
	}
}
