//go:build linux

// Command soak is nodeipc's reliability suite: it soaks and breaks the
// library and the nodeipc CLI from outside, with real processes, real
// signals and real Node (20, 22, 24, 26), loopback only, and writes what it
// measured to docs/reliability.md and docs/reliability.json:
//
//   - messages sent, received, lost and reordered, in both roles and both
//     serializations, with the Go side's peak RSS, fds and goroutines;
//   - fds, goroutines and heap of a Go parent before and after many
//     start/exchange/disconnect cycles;
//   - how long a Go child takes to exit after kill -9 of its Node parent,
//     and whether a busy Node child outlives a Go parent killed the same
//     way, with and without a parent-death signal;
//   - `nodeipc pool` calls answered, failed and lost while workers are
//     killed with SIGKILL, with and without --retry, and processes left;
//   - memory of a Go parent sending to a stopped (SIGSTOP) child;
//   - a catalogue of hostile inputs, the error each gets and the peak
//     memory it cost.
//
// Usage (from the module root; make soak runs the first):
//
//	go run ./interop/soak                 # full run, a few minutes; writes docs/
//	go run ./interop/soak -short -out DIR # the small run make test does
//
// Every loop is bounded by a count and by a deadline. The short run is
// also TestShortSuite, with assertions on every figure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"nodeipc.dev/internal/nodetest"
)

func main() {
	runRole()
	short := flag.Bool("short", false, "run the small counts (as make test does)")
	out := flag.String("out", "", "directory for reliability.md and reliability.json (default: docs/ for a full run; none for -short)")
	flag.Parse()
	if *out == "" && !*short {
		*out = filepath.Join(nodetest.Root(), "docs")
	}
	if err := run(*short, *out); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(short bool, out string) error {
	cfg := FullConfig
	command := "make soak"
	if short {
		cfg = ShortConfig
		command = "go run ./interop/soak -short"
	}
	tmp, err := os.MkdirTemp("", "nodeipc-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env, err := setup(tmp, nodes())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := Run(ctx, env, cfg, os.Stderr)
	if err != nil {
		return err
	}
	rep.Command = command
	rep.Date = time.Now().UTC().Format("2006-01-02")
	if out != "" {
		if err := rep.Write(out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "soak: wrote %s\n", filepath.Join(out, "reliability.md"))
	}
	fmt.Fprintf(os.Stderr, "soak: %s run took %.0f s\n", rep.Mode, rep.Seconds)
	if problems := rep.Check(); len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// nodes returns the system node and the pinned majors; a missing one is
// an error (a published run covers them all).
func nodes() []Node {
	system := os.Getenv("NODEIPC_NODE")
	if system == "" {
		system = "node"
	}
	list := []Node{{Name: "system", Path: system}}
	for _, major := range nodetest.Majors {
		list = append(list, Node{Name: major, Path: nodetest.JS(filepath.Join("node_modules", major, "bin", "node"))})
	}
	return list
}

// setup builds the nodeipc CLI into dir, and finds this program and each
// Node's version.
func setup(dir string, list []Node) (Env, error) {
	self, err := os.Executable()
	if err != nil {
		return Env{}, err
	}
	env := Env{Self: self, CLI: filepath.Join(dir, "nodeipc"), Dir: filepath.Join(nodetest.Root(), "interop", "testdata", "soak")}
	build := exec.Command("go", "build", "-o", env.CLI, "./cmd/nodeipc")
	build.Dir = nodetest.Root()
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return env, fmt.Errorf("go build ./cmd/nodeipc: %w", err)
	}
	for _, n := range list {
		v, err := exec.Command(n.Path, "--version").Output()
		if err != nil {
			return env, fmt.Errorf("%s (%s): %v (run `npm ci --prefix interop/testdata`)", n.Name, n.Path, err)
		}
		n.Version = strings.TrimSpace(string(v))
		env.Nodes = append(env.Nodes, n)
	}
	return env, nil
}
