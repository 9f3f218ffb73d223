//go:build unix

package pool_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// alive reports whether pid runs: it exists and is not a zombie (an
// orphan whose reaper does not reap counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
