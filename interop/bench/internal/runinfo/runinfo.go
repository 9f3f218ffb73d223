// Package runinfo holds what the benchmark commands (interop/bench and
// interop/bench/poolbench) share: finding the module, describing the
// machine a run took place on, and summarizing repeated samples.
package runinfo

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
)

// RepoRoot finds the module root (the directory with nodeipc.dev's go.mod)
// from the working directory up. cmd names the command in the error.
func RepoRoot(cmd string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module nodeipc.dev\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the nodeipc.dev module (go run " + cmd + ")")
		}
		dir = parent
	}
}

// LoadAvg returns the 1, 5 and 15 minute load averages, or "".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Machine describes where a run took place.
type Machine struct {
	NProc  int    `json:"nproc"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Node   string `json:"node"`
	Go     string `json:"go"`
	// GoJSON is the JSON module nodeipc was built with.
	GoJSON string `json:"go_json,omitempty"`
	// Workerpool is the version of the npm package in interop/testdata/node_modules,
	// where the command uses it.
	Workerpool string `json:"workerpool,omitempty"`
	// LoadBefore and LoadAfter are /proc/loadavg at the start and the end
	// of the run: other work on the machine shows here.
	LoadBefore string `json:"loadavg_before,omitempty"`
	LoadAfter  string `json:"loadavg_after,omitempty"`
}

// DescribeMachine collects nproc, the CPU model, the kernel and the
// versions of node and Go; the load average now is LoadAfter.
func DescribeMachine(node, loadBefore string) Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: loadBefore, LoadAfter: LoadAvg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command(node, "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/goccy/go-json" {
				m.GoJSON = d.Path + " " + d.Version
			}
		}
	}
	return m
}

// Summary is one metric of one configuration over the repetitions.
type Summary struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
	// Ratio is the median against the baseline's, the right way up: above
	// 1 is better (faster, more per second, smaller).
	Ratio float64 `json:"ratio,omitempty"`
}

// Summarize returns the median, min and max of v (which must not be empty).
func Summarize(v []float64) Summary {
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[len(s)-1], Samples: v}
}

// Rotate returns cs rotated left by k, so that each repetition starts with
// another configuration.
func Rotate[T any](cs []T, k int) []T {
	if len(cs) == 0 {
		return nil
	}
	k %= len(cs)
	return append(append([]T(nil), cs[k:]...), cs[:k]...)
}

// NodePath resolves the -node flag to an absolute path.
func NodePath(node string) (string, error) {
	p, err := exec.LookPath(node)
	if err != nil {
		return "", fmt.Errorf("-node: %w", err)
	}
	return filepath.Abs(p)
}

// BuildGo builds the Go package pkg (relative to the module root) into
// dir as name, and returns the binary's path.
func BuildGo(root, pkg, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	return bin, nil
}

// ProfileDir makes the -cpuprofile directory and returns it absolute ("" stays "").
func ProfileDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Abs(dir)
}

// Print writes a run's report to standard output: rep as indented JSON if
// asJSON, otherwise the text text returns.
func Print(rep any, asJSON bool, text func() string) error {
	if !asJSON {
		_, err := io.WriteString(os.Stdout, text())
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Rate prints a per-second rate briefly, with three or four significant
// digits: 2.36M, 348k, 25.2k, 1.23k, 412.
func Rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e5:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Brief prints a time, a size or a fraction briefly: whole numbers from
// 100, three significant digits below.
func Brief(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Span prints a summary as "median [min–max]", each value by f.
func Span(s Summary, f func(float64) string) string {
	return f(s.Median) + " [" + f(s.Min) + "–" + f(s.Max) + "]"
}
