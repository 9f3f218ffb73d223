//go:build unix && !linux

package pool

import "syscall"

// setDeathSignal does nothing: only Linux has a parent-death signal. Go and
// Node workers still exit when their channel closes.
func setDeathSignal(*syscall.SysProcAttr) {}
