// Package nodetest is what the module's tests share to run real Node.js
// processes: finding the Node binaries (the system one and the majors
// `npm ci --prefix interop/testdata` installs) and npm packages,
// collecting a process's output, and a helper that reports what a
// grandchild inherited.
//
// Locally a missing binary or package skips the test. In CI (CI set) or
// with NODEIPC_INTEROP=1 it fails it: CI must never pass by skipping (on
// a platform that starts no processes, js/wasm, it skips: see Missing).
package nodetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Strict reports whether a missing Node binary or npm package must fail
// the test rather than skip it.
func Strict() bool { return os.Getenv("CI") != "" || os.Getenv("NODEIPC_INTEROP") == "1" }

// Missing reports a runtime, package or tool the test needs and cannot
// find: it fails the test in strict mode (see Strict) and skips it
// otherwise.
//
// On js and wasip1, which start no processes, it always skips: there the
// library's tests run for the platform's own sake (make test), and the
// native run of the same tests is the one that starts Node.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("%s: %s/%s starts no processes", fmt.Sprintf(format, args...), runtime.GOOS, runtime.GOARCH)
	}
	if Strict() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Root returns the module root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// JS returns the path of name under interop/testdata/, where the Node
// fixtures and their npm packages live.
func JS(name string) string { return filepath.Join(Root(), "interop", "testdata", name) }

// System returns the system Node binary: $NODEIPC_NODE, or node in PATH.
func System(t testing.TB) string {
	t.Helper()
	node := os.Getenv("NODEIPC_NODE")
	if node == "" {
		node = "node"
	}
	path, err := exec.LookPath(node)
	if err != nil {
		Missing(t, "node not found (%v)", err)
	}
	return path
}

// Bin is one Node binary of the test matrix.
type Bin struct {
	Name, Path string
}

// Majors are the Node majors interop/testdata/package.json installs besides
// the system node, as interop/testdata/node_modules/<name>/bin/node.
var Majors = []string{"node22", "node24", "node26"}

// All returns the system Node and every major of Majors.
func All(t testing.TB) []Bin {
	t.Helper()
	bins := []Bin{{"system", System(t)}}
	for _, major := range Majors {
		p := JS(filepath.Join("node_modules", major, "bin", "node"))
		if _, err := os.Stat(p); err != nil {
			if Strict() {
				t.Fatalf("%s missing (run `npm ci --prefix interop/testdata`): %v", p, err)
			}
			t.Logf("skipping %s: %v", major, err)
			continue
		}
		bins = append(bins, Bin{major, p})
	}
	return bins
}

// ForEach runs f as a subtest for every binary of All, named with its
// version.
func ForEach(t *testing.T, f func(t *testing.T, node string)) {
	for _, b := range All(t) {
		version, err := exec.Command(b.Path, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", b.Path, err)
		}
		t.Run(b.Name+"-"+strings.TrimSpace(string(version)), func(t *testing.T) { f(t, b.Path) })
	}
}

// RequireModule checks that the npm package name of
// interop/testdata/package.json is installed.
func RequireModule(t testing.TB, name string) {
	t.Helper()
	if _, err := os.Stat(JS(filepath.Join("node_modules", name, "package.json"))); err != nil {
		Missing(t, "npm package %s missing (run `npm ci --prefix interop/testdata`): %v", name, err)
	}
}

// RequireProgram returns the path of a helper program such as python3.
func RequireProgram(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not found: %v", name, err)
	}
	return path
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader at once (a
// process's output read while it runs).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ReportInherited is the body of a grandchild helper process: it prints
// whether it inherited Node's channel variables and which sockets above
// fd 2 it has open, as "vars=<fd>,<mode> sockets=[...]", and returns 0.
func ReportInherited() int {
	var open []string
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 2 {
			if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
				open = append(open, e.Name())
			}
		}
	}
	_, hasFD := os.LookupEnv("NODE_CHANNEL_FD")
	_, hasMode := os.LookupEnv("NODE_CHANNEL_SERIALIZATION_MODE")
	fmt.Printf("vars=%v,%v sockets=%v\n", hasFD, hasMode, open)
	return 0
}
