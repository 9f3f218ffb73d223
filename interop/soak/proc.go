//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// statusKiB returns a "VmHWM"/"VmRSS"-style field of /proc/PID/status in
// KiB (pid 0: this process), or -1.
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// peakRSSMiB is a process's peak resident size (VmHWM) in MiB.
func peakRSSMiB(pid int) float64 { return float64(statusKiB(pid, "VmHWM")) / 1024 }

func procPath(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return fmt.Sprintf("/proc/%d/%s", pid, name)
}

// openFDs counts a process's open file descriptors.
func openFDs(pid int) int {
	entries, err := os.ReadDir(procPath(pid, "fd"))
	if err != nil {
		return -1
	}
	return len(entries)
}

// procStat returns the state letter and parent pid of a process, ok false
// if it is gone.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) S ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// running reports whether pid is a live process (not gone, not a zombie).
func running(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// children returns the live processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, ok := procStat(p); ok && ppid == pid && state != 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// waitGone polls until pid is no longer running, for at most limit, and
// returns how long that took (ok false if it still runs).
func waitGone(pid int, start time.Time, limit time.Duration) (time.Duration, bool) {
	for {
		if !running(pid) {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// kill sends SIGKILL to pid, ignoring a process already gone.
func kill(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
