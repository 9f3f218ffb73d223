//go:build linux

package wine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"nodeipc.dev/internal/nodetest"
)

// majors are the Windows Node binaries of interop/testdata/windows.
var majors = []string{"node20", "node22", "node24", "node26"}

// skipUnderWine are nodeipc tests that cannot pass under Wine 8.0 for
// Wine's sake: TestPoolIdempotentRetry's TempDir cleanup fails there
// (unlinkat: "Invalid function") once a child process has written in the
// directory; TestWatchWaitsWithoutHoldingAP looks at the watching reader's
// goroutine within one 20 ms watch period, shorter than Wine's scheduling
// delays on a busy machine.
const skipUnderWine = "^(TestPoolIdempotentRetry|TestWatchWaitsWithoutHoldingAP)$"

// wine is how to run Windows programs here: the loader, the server, and
// the environment with the suite's prefix.
type wine struct {
	loader, server string
	env            []string
	version        string
}

// missing fails the test in CI and skips it elsewhere (nodetest.Missing),
// naming the script that installs what is missing.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	nodetest.Missing(t, format+" (run interop/wine/setup.sh)", args...)
}

// startServer starts the prefix's wineserver, kept alive 10 seconds after
// its last client (so the test's Windows programs share one), and kills it
// when the test ends.
func (w *wine) startServer(t *testing.T) {
	t.Helper()
	srv := exec.Command(w.server, "-p10")
	srv.Env = w.env
	if err := srv.Run(); err != nil {
		t.Fatalf("wineserver -p10: %v", err)
	}
	t.Cleanup(func() {
		kill := exec.Command(w.server, "-k")
		kill.Env = w.env
		_ = kill.Run()
	})
}

// Prefix is the Wine prefix setup.sh prepares: $NODEIPC_WINEPREFIX, or
// nodeipc/wine in the user's cache folder.
func prefix() string {
	if p := os.Getenv("NODEIPC_WINEPREFIX"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "nodeipc", "wine")
}

func findWine(t *testing.T) *wine {
	t.Helper()
	w := &wine{loader: "/usr/lib/wine/wine64", server: "/usr/lib/wine/wineserver64"}
	for _, p := range []string{w.loader, w.server} {
		if _, err := os.Stat(p); err != nil {
			missing(t, "Wine is not installed: %v", err)
		}
	}
	pfx := prefix()
	if _, err := os.Stat(filepath.Join(pfx, ".nodeipc-ready")); err != nil {
		missing(t, "no Wine prefix ready at %s", pfx)
	}
	w.env = append(os.Environ(), "WINEPREFIX="+pfx, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=;winedbg.exe=d")
	out, _ := exec.Command(w.loader, "--version").Output()
	w.version = strings.TrimSpace(string(out))
	return w
}

// winPath is path as a Windows program under Wine names it.
func winPath(path string) string { return `Z:` + strings.ReplaceAll(path, "/", `\`) }

// run runs a Windows program with env added, output to a file (Windows
// Node crashes on a Linux pipe), and returns its output.
func (w *wine) run(ctx context.Context, dir, out string, env []string, args ...string) ([]byte, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, w.loader, args...)
	cmd.Dir = dir
	cmd.Env = append(w.env[:len(w.env):len(w.env)], env...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	b, _ := os.ReadFile(out)
	return b, err
}

// buildWindows cross-compiles the Windows programs of the suite.
func buildWindows(t *testing.T, dir string) {
	t.Helper()
	root := nodetest.Root()
	builds := [][]string{
		{"test", "-c", "-o", filepath.Join(dir, "wine.test.exe"), "./interop/wine"},
		{"test", "-c", "-o", filepath.Join(dir, "nodeipc.test.exe"), "./nodeipc"},
		{"test", "-c", "-o", filepath.Join(dir, "pool.test.exe"), "./nodeipc/pool"},
		{"build", "-o", filepath.Join(dir, "nodeipc.exe"), "./cmd/nodeipc"},
	}
	for _, args := range builds {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// placeholderCrash is V8's message when Wine cannot reserve memory the way
// Node 24 and later do (VirtualAlloc2 with MEM_RESERVE_PLACEHOLDER, which
// Wine 8.0 refuses).
var placeholderCrash = regexp.MustCompile(`SegmentedTable::InitializeTable`)

// TestWindowsUnderWine builds the Windows test binaries and the CLI, runs
// the tests of nodeipc (the named pipe transport) and nodeipc/pool on
// Windows, then
// this package's Windows tests against each Windows Node major.
func TestWindowsUnderWine(t *testing.T) {
	w := findWine(t)
	root := nodetest.Root()
	nodes := map[string]string{}
	for _, m := range majors {
		p := filepath.Join(root, "interop", "testdata", "windows", "node_modules", m, "bin", "node.exe")
		if _, err := os.Stat(p); err != nil {
			missing(t, "%s missing: %v", p, err)
		}
		nodes[m] = p
	}
	start := time.Now()
	dir := t.TempDir()
	buildWindows(t, dir)
	t.Logf("built the Windows programs in %v", time.Since(start).Round(time.Millisecond))

	// One wineserver for the whole run, stopped at the end with
	// everything it runs (and, should the cleanup not run, 10 s after the
	// last Windows program exits).
	w.startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	common := []string{
		"NODEIPC_WIN_TESTDATA=" + winPath(filepath.Join(root, "interop", "testdata", "windows")),
		"NODEIPC_WIN_CLI=" + winPath(filepath.Join(dir, "nodeipc.exe")),
	}
	var mu sync.Mutex
	times := map[string]time.Duration{}
	timed := func(name string, f func() ([]byte, error)) ([]byte, error) {
		t0 := time.Now()
		out, err := f()
		mu.Lock()
		times[name] = time.Since(t0)
		mu.Unlock()
		return out, err
	}
	t.Run("group", func(t *testing.T) {
		for _, pkg := range []string{"nodeipc", "pool"} {
			t.Run(pkg, func(t *testing.T) {
				t.Parallel()
				pkgDir := filepath.Join(root, "nodeipc")
				if pkg != "nodeipc" {
					pkgDir = filepath.Join(pkgDir, pkg)
				}
				out, err := timed(pkg, func() ([]byte, error) {
					return w.run(ctx, pkgDir, filepath.Join(dir, pkg+".log"), nil,
						filepath.Join(dir, pkg+".test.exe"), "-test.timeout=5m", "-test.skip="+skipUnderWine)
				})
				check(t, pkg+" tests", out, err)
			})
		}
		for _, m := range majors {
			t.Run(m, func(t *testing.T) {
				t.Parallel()
				node := winPath(nodes[m])
				probe, err := w.run(ctx, dir, filepath.Join(dir, m+"-probe.log"), nil, nodes[m], "-e", "process.stdout.write(process.version)")
				if err != nil && placeholderCrash.Match(probe) {
					t.Skipf("blocked: %s cannot start under %s: V8 reserves memory with MEM_RESERVE_PLACEHOLDER, which this Wine refuses (Wine 9 and later have it)", m, w.version)
				}
				if err != nil {
					t.Fatalf("%s -e: %v\n%s", m, err, probe)
				}
				t.Logf("%s is %s", m, probe)
				out, err := timed(m, func() ([]byte, error) {
					return w.run(ctx, dir, filepath.Join(dir, m+".log"), append(common, "NODEIPC_WIN_NODE="+node),
						filepath.Join(dir, "wine.test.exe"), "-test.v", "-test.timeout=5m")
				})
				check(t, m, out, err)
			})
		}
	})
	t.Logf("Wine suite: %v in all (%v); per binary: %v", time.Since(start).Round(time.Millisecond), w.version, times)
}

// check fails the test if a Windows test binary failed, with its output.
func check(t *testing.T, name string, out []byte, err error) {
	t.Helper()
	var ee *exec.ExitError
	if err != nil || !bytes.Contains(out, []byte("\nPASS\n")) && !bytes.HasPrefix(out, []byte("PASS\n")) {
		if errors.As(err, &ee) || err == nil {
			t.Fatalf("%s under Wine failed (%v):\n%s", name, err, tail(out, 30000))
		}
		t.Fatalf("%s under Wine: %v", name, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "--- SKIP") || strings.Contains(line, "--- SKIP") {
			t.Logf("%s: %s", name, strings.TrimSpace(line))
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestWineBenchmark compares, under Wine and in one run, a Windows Go child
// (`nodeipc echo --raw`) with a Windows Node child under the same Windows
// Node parent: round trips of a small message and pipelined throughput of
// 200-byte messages, both serializations, runs alternated. It runs only
// with NODEIPC_WINE_BENCH=1 (go test -timeout 30m -run TestWineBenchmark -v
// ./interop/wine); docs/bench/windows.md has its figures.
func TestWineBenchmark(t *testing.T) {
	if os.Getenv("NODEIPC_WINE_BENCH") != "1" {
		t.Skip("set NODEIPC_WINE_BENCH=1 to run the Wine benchmark")
	}
	w := findWine(t)
	root := nodetest.Root()
	major := os.Getenv("NODEIPC_WINE_BENCH_NODE")
	if major == "" {
		major = "node22"
	}
	node := filepath.Join(root, "interop", "testdata", "windows", "node_modules", major, "bin", "node.exe")
	dir := t.TempDir()
	buildWindows(t, dir)
	w.startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bench := filepath.Join(root, "interop", "testdata", "windows", "bench.js")
	type result struct {
		RTMicros   float64 `json:"rtMicros"`
		MsgsPerSec float64 `json:"msgsPerSec"`
	}
	const runs = 5
	for _, mode := range []string{"json", "advanced"} {
		got := map[string][]result{}
		for i := range runs {
			for _, kind := range []string{"node", "go"} {
				args := []string{node, bench, mode, kind}
				if kind == "go" {
					args = append(args, winPath(filepath.Join(dir, "nodeipc.exe")), "echo", "--raw")
				}
				out, err := w.run(ctx, dir, filepath.Join(dir, "bench.log"), nil, args...)
				var r result
				if err == nil {
					line := strings.TrimSpace(string(out))
					line = line[strings.LastIndexByte(line, '\n')+1:]
					err = json.Unmarshal([]byte(line), &r)
				}
				if err != nil {
					t.Fatalf("%s %s child, run %d: %v\n%s", mode, kind, i, err, out)
				}
				got[kind] = append(got[kind], r)
			}
		}
		med := func(rs []result, f func(result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			sort.Float64s(v)
			return v[len(v)/2]
		}
		rtN := med(got["node"], func(r result) float64 { return r.RTMicros })
		rtG := med(got["go"], func(r result) float64 { return r.RTMicros })
		tpN := med(got["node"], func(r result) float64 { return r.MsgsPerSec })
		tpG := med(got["go"], func(r result) float64 { return r.MsgsPerSec })
		t.Logf("| %s | %.0f µs | %.0f µs | %.2f | %.0f/s | %.0f/s | %.2f |", mode, rtN, rtG, rtN/rtG, tpN, tpG, tpG/tpN)
		for _, kind := range []string{"node", "go"} {
			var rt, tp []string
			for _, r := range got[kind] {
				rt = append(rt, fmt.Sprintf("%.0f", r.RTMicros))
				tp = append(tp, fmt.Sprintf("%.0f", r.MsgsPerSec))
			}
			t.Logf("  %s %s child, every run: round trip µs %s; msgs/s %s", mode, kind, strings.Join(rt, " "), strings.Join(tp, " "))
		}
	}
	t.Logf("columns: serialization | round trip, Node child | Go child | Node/Go | throughput, Node child | Go child | Go/Node (medians of %d alternated runs, %s, %s parent)", runs, w.version, major)
}
