//go:build unix

package remotetest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Gone reports whether process pid has ended: it no longer exists, or it
// is a zombie nobody has reaped yet.
func Gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		// With /proc, the process ended since Kill; without, Kill said it runs.
		_, err := os.Stat("/proc/self/stat")
		return err == nil
	}
	// "pid (comm) S ...": the state follows the last parenthesis.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
