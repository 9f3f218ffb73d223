// Package interop_test runs real Node.js processes against nodeipc, in both
// directions: Node parents with Go children (this test binary, re-executed as
// a helper program) and Go parents with Node children.
package interop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// helpers are Go child programs; the test binary runs one instead of the
// tests when NODEIPC_TEST_HELPER names it.
var helpers = map[string]func() int{}

func registerHelper(name string, f func() int) bool {
	helpers[name] = f
	return true
}

func TestMain(m *testing.M) {
	if name := os.Getenv("NODEIPC_TEST_HELPER"); name != "" {
		f, ok := helpers[name]
		if !ok {
			os.Stderr.WriteString("unknown helper " + name + "\n")
			os.Exit(2)
		}
		os.Exit(f())
	}
	goleak.VerifyTestMain(m)
}

// nodeBin is one Node.js executable of the matrix.
type nodeBin struct {
	name, path string
}

// repoRoot is the module root (interop/..).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func jsPath(name string) string { return filepath.Join(repoRoot(), "js", name) }

// nodes returns the Node.js binaries to test against: the system node, and
// the majors installed under js/node_modules by `npm ci` (package.json pins
// them). Locally a missing binary skips its subtests; in CI (CI set) or with
// NODEIPC_INTEROP=1 it fails the test.
func nodes(t testing.TB) []nodeBin {
	t.Helper()
	strict := os.Getenv("CI") != "" || os.Getenv("NODEIPC_INTEROP") == "1"
	var out []nodeBin
	sys := os.Getenv("NODEIPC_NODE")
	if sys == "" {
		sys, _ = exec.LookPath("node")
	}
	if sys == "" {
		if strict {
			t.Fatal("node not found in PATH (required when CI is set)")
		}
		t.Skip("node not found in PATH")
	}
	out = append(out, nodeBin{"system", sys})
	for _, major := range []string{"node22", "node26"} {
		p := filepath.Join(repoRoot(), "js", "node_modules", major, "bin", "node")
		if _, err := os.Stat(p); err != nil {
			if strict {
				t.Fatalf("%s missing (run `npm ci --prefix js`): %v", p, err)
			}
			t.Logf("skipping %s: %v", major, err)
			continue
		}
		out = append(out, nodeBin{major, p})
	}
	return out
}

// forEachNode runs f as a subtest for each Node binary of the matrix.
func forEachNode(t *testing.T, f func(t *testing.T, node string)) {
	for _, n := range nodes(t) {
		version, err := exec.Command(n.path, "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", n.path, err)
		}
		t.Run(n.name+"-"+strings.TrimSpace(string(version)), func(t *testing.T) { f(t, n.path) })
	}
}
