package nodeipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Start starts cmd with an IPC channel, as Node's fork() and spawn() with
// 'ipc' in stdio do, and returns the parent's end of the channel.
//
// The child's end of a new named pipe is fd 3 of the child's C runtime
// (3 plus the number of cmd.ExtraFiles), passed as Node passes it: in the
// fd table of STARTUPINFO.lpReserved2. The child's environment is cmd.Env
// (the current environment when nil) without inherited NODE_CHANNEL_FD,
// NODE_CHANNEL_SERIALIZATION_MODE and NODE_UNIQUE_ID, plus NODE_CHANNEL_FD
// and NODE_CHANNEL_SERIALIZATION_MODE for the new channel. The child
// inherits only its stdio, the extra files, the pipe and
// SysProcAttr.AdditionalInheritedHandles. Start closes its copy of the
// child's end once the child has started, so the channel ends when the
// child exits.
//
// On Windows os/exec cannot pass that table, so Start creates the process
// itself instead of calling cmd.Start, and then sets cmd.Process: cmd.Wait,
// cmd.Process.Kill and cmd.ProcessState work as after cmd.Start. What
// Start takes from cmd:
//
//   - Path (relative to Dir when relative), Args, Env, Dir, ExtraFiles (nil
//     entries are closed fds), and cmd.Err, which it returns;
//   - Stdin, Stdout and Stderr must each be nil (the NUL device) or an
//     *os.File. Start returns an error wrapping errors.ErrUnsupported for
//     any other io.Reader or io.Writer: copying through a pipe needs a
//     goroutine that cmd.Wait would not wait for. Give an *os.File from
//     os.Pipe and copy it yourself;
//   - SysProcAttr's HideWindow, CmdLine, CreationFlags, Token,
//     ProcessAttributes, ThreadAttributes and AdditionalInheritedHandles.
//     NoInheritHandles and ParentProcess cannot go with an inherited
//     channel: Start refuses them (errors.ErrUnsupported);
//   - a Cmd made by exec.CommandContext (Cancel set) is refused
//     (errors.ErrUnsupported): its context would not be watched. WaitDelay
//     has nothing to bound and is ignored.
//
// As Node's fork does, Start puts the child in a job object of this
// process that kills it when this process exits, however it exits (the
// child's own children are not in the job). Where the system refuses the
// job (ERROR_ACCESS_DENIED, an outer job forbidding it), the child runs
// without it.
//
// The caller still owns cmd: it must call cmd.Wait, and Close the channel.
func Start(cmd *exec.Cmd, opts *Options) (*Channel, error) {
	if cmd == nil {
		return nil, errors.New("nodeipc: Start: nil cmd")
	}
	if cmd.Process != nil {
		return nil, errors.New("nodeipc: Start: cmd already started")
	}
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	if cmd.Path == "" {
		return nil, errors.New("nodeipc: Start: no command")
	}
	if cmd.Cancel != nil {
		return nil, fmt.Errorf("nodeipc: Start: a Cmd with a context (exec.CommandContext) on Windows: %w", errors.ErrUnsupported)
	}
	o := opts.withDefaults()
	var sys syscall.SysProcAttr
	if cmd.SysProcAttr != nil {
		sys = *cmd.SysProcAttr
	}
	if sys.NoInheritHandles || sys.ParentProcess != 0 {
		return nil, fmt.Errorf("nodeipc: Start: SysProcAttr.NoInheritHandles or ParentProcess with a channel: %w", errors.ErrUnsupported)
	}

	var ih inheritedHandles
	defer ih.close()
	std := [3]any{cmd.Stdin, cmd.Stdout, cmd.Stderr}
	for i, s := range std {
		if err := ih.addStd(i, s); err != nil {
			return nil, err
		}
	}
	for _, f := range cmd.ExtraFiles {
		if err := ih.addFile(f); err != nil {
			return nil, err
		}
	}
	server, client, err := newPipePair()
	if err != nil {
		return nil, err
	}
	conn, err := newPipeConn(server, "node-ipc-parent")
	if err != nil {
		windows.CloseHandle(server)
		windows.CloseHandle(client)
		return nil, err
	}
	channelFD := len(ih.handles)
	if err := ih.add(client, crtFOPEN|crtFPIPE, true); err != nil {
		conn.Close()
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	p, err := createProcess(cmd, &sys, channelEnv(env, channelFD, o.Serialization), &ih)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cmd.Process = p
	ch, err := NewChannel(conn, &o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ch, nil
}

// inheritedHandles are the child's fds: an inheritable handle (or
// InvalidHandle) and CRT flags per fd, in order. Start owns the handles
// and closes them once the child has its copies.
type inheritedHandles struct {
	handles []windows.Handle
	flags   []byte
	owned   []bool
}

// add appends h as the next fd; owned handles are closed by close.
func (ih *inheritedHandles) add(h windows.Handle, flags byte, owned bool) error {
	if len(ih.handles) >= crtMaxFDs {
		return errors.New("nodeipc: Start: too many fds for the C runtime's table")
	}
	if h != windows.InvalidHandle {
		if err := windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
			if owned {
				windows.CloseHandle(h)
			}
			return fmt.Errorf("nodeipc: Start: %w", err)
		}
	}
	ih.handles = append(ih.handles, h)
	ih.flags = append(ih.flags, flags)
	ih.owned = append(ih.owned, owned)
	return nil
}

// addFile appends an inheritable duplicate of f's handle, or a closed fd
// for a nil f.
func (ih *inheritedHandles) addFile(f *os.File) error {
	if f == nil {
		return ih.add(windows.InvalidHandle, 0, false)
	}
	var dup windows.Handle
	self := windows.CurrentProcess()
	err := windows.DuplicateHandle(self, windows.Handle(f.Fd()), self, &dup, 0, true, windows.DUPLICATE_SAME_ACCESS)
	runtime.KeepAlive(f)
	if err != nil {
		return fmt.Errorf("nodeipc: Start: duplicate %s: %w", f.Name(), err)
	}
	return ih.add(dup, crtFlags(dup), true)
}

// addStd appends stdio fd i: the NUL device for nil, or an *os.File.
func (ih *inheritedHandles) addStd(i int, s any) error {
	switch s := s.(type) {
	case nil:
		access := uint32(windows.GENERIC_WRITE | windows.FILE_READ_ATTRIBUTES)
		if i == 0 {
			access = windows.GENERIC_READ
		}
		h, err := windows.CreateFile(windows.StringToUTF16Ptr(os.DevNull), access,
			windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
		if err != nil {
			return fmt.Errorf("nodeipc: Start: open %s: %w", os.DevNull, err)
		}
		return ih.add(h, crtFOPEN|crtFDEV, true)
	case *os.File:
		if s == nil {
			return ih.addStd(i, nil)
		}
		return ih.addFile(s)
	}
	name := [3]string{"Stdin", "Stdout", "Stderr"}[i]
	return fmt.Errorf("nodeipc: Start: cmd.%s is a %T; on Windows it must be nil or an *os.File: %w", name, s, errors.ErrUnsupported)
}

// crtFlags are the CRT's flags for an fd on h, as libuv sets them.
func crtFlags(h windows.Handle) byte {
	switch t, _ := windows.GetFileType(h); t {
	case windows.FILE_TYPE_DISK:
		return crtFOPEN
	case windows.FILE_TYPE_PIPE:
		return crtFOPEN | crtFPIPE
	default:
		return crtFOPEN | crtFDEV
	}
}

// table returns the CRT fd table for lpReserved2.
func (ih *inheritedHandles) table() []byte {
	n := len(ih.handles)
	b := make([]byte, 4+n+n*handleSize)
	binary.LittleEndian.PutUint32(b, uint32(n))
	copy(b[4:], ih.flags)
	for i, h := range ih.handles {
		off := 4 + n + i*handleSize
		if handleSize == 8 {
			binary.LittleEndian.PutUint64(b[off:], uint64(h))
		} else {
			binary.LittleEndian.PutUint32(b[off:], uint32(h))
		}
	}
	return b
}

// close closes the handles Start made for the child.
func (ih *inheritedHandles) close() {
	for i, h := range ih.handles {
		if ih.owned[i] && h != windows.InvalidHandle {
			windows.CloseHandle(h)
		}
	}
	ih.handles, ih.flags, ih.owned = nil, nil, nil
}

// startupInfoEx is STARTUPINFOEXW around startupInfo.
type startupInfoEx struct {
	startupInfo
	attrs *windows.ProcThreadAttributeList
}

// createProcess creates cmd's process, suspended until it is in the job,
// with the fds of ih, and returns it.
func createProcess(cmd *exec.Cmd, sys *syscall.SysProcAttr, env []string, ih *inheritedHandles) (*os.Process, error) {
	path := cmd.Path
	if cmd.Dir != "" && !filepath.IsAbs(path) && filepath.VolumeName(path) == "" {
		path = filepath.Join(cmd.Dir, path)
	}
	app, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	line := sys.CmdLine
	if line == "" {
		args := cmd.Args
		if len(args) == 0 {
			args = []string{cmd.Path}
		}
		line = windows.ComposeCommandLine(args)
	}
	cmdLine, err := windows.UTF16PtrFromString(line)
	if err != nil {
		return nil, err
	}
	var dir *uint16
	if cmd.Dir != "" {
		if dir, err = windows.UTF16PtrFromString(cmd.Dir); err != nil {
			return nil, err
		}
	}
	block, err := envBlock(env)
	if err != nil {
		return nil, err
	}

	list := make([]windows.Handle, 0, len(ih.handles)+len(sys.AdditionalInheritedHandles))
	for _, h := range ih.handles {
		if h != windows.InvalidHandle {
			list = append(list, h)
		}
	}
	for _, h := range sys.AdditionalInheritedHandles {
		if h != 0 {
			list = append(list, windows.Handle(h))
		}
	}
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return nil, fmt.Errorf("nodeipc: Start: %w", err)
	}
	defer attrs.Delete()
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&list[0]), uintptr(len(list))*unsafe.Sizeof(list[0])); err != nil {
		return nil, fmt.Errorf("nodeipc: Start: %w", err)
	}

	table := ih.table()
	var si startupInfoEx
	si.Cb = uint32(unsafe.Sizeof(si))
	si.Flags = windows.STARTF_USESTDHANDLES
	if sys.HideWindow {
		si.Flags |= windows.STARTF_USESHOWWINDOW
		si.ShowWindow = windows.SW_HIDE
	}
	si.CbReserved2 = uint16(len(table))
	si.LpReserved2 = &table[0]
	si.StdInput, si.StdOutput, si.StdErr = ih.handles[0], ih.handles[1], ih.handles[2]
	si.attrs = attrs.List()

	flags := sys.CreationFlags | windows.CREATE_UNICODE_ENVIRONMENT | windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_SUSPENDED
	procAttrs := (*windows.SecurityAttributes)(unsafe.Pointer(sys.ProcessAttributes))
	threadAttrs := (*windows.SecurityAttributes)(unsafe.Pointer(sys.ThreadAttributes))
	var pi windows.ProcessInformation
	startup := (*windows.StartupInfo)(unsafe.Pointer(&si.startupInfo))
	if sys.Token != 0 {
		err = windows.CreateProcessAsUser(windows.Token(sys.Token), app, cmdLine, procAttrs, threadAttrs, true, flags, &block[0], dir, startup, &pi)
	} else {
		err = windows.CreateProcess(app, cmdLine, procAttrs, threadAttrs, true, flags, &block[0], dir, startup, &pi)
	}
	runtime.KeepAlive(table)
	runtime.KeepAlive(list)
	runtime.KeepAlive(&si)
	if err != nil {
		return nil, &os.PathError{Op: "CreateProcess", Path: path, Err: err}
	}
	defer windows.CloseHandle(pi.Thread)
	defer windows.CloseHandle(pi.Process)
	fail := func(err error) (*os.Process, error) {
		windows.TerminateProcess(pi.Process, 1)
		return nil, fmt.Errorf("nodeipc: Start: %w", err)
	}
	if err := joinChildJob(pi.Process); err != nil {
		return fail(err)
	}
	// The process handle held here keeps the pid from being reused.
	p, err := os.FindProcess(int(pi.ProcessId))
	if err != nil {
		return fail(err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		p.Release()
		return fail(fmt.Errorf("ResumeThread: %w", err))
	}
	return p, nil
}

// envBlock returns env as a CreateProcess environment block: deduplicated
// (names are case-insensitive, the last one wins), with SYSTEMROOT added
// when missing (as os/exec does: without it some Windows programs fail),
// sorted by name as Windows documents, NUL-separated, UTF-16.
func envBlock(env []string) ([]uint16, error) {
	seen := make(map[string]int, len(env))
	var kept []string
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("nodeipc: Start: environment variable %q contains NUL", kv)
		}
		key, ok := envName(kv)
		if !ok {
			continue
		}
		if i, ok := seen[key]; ok {
			kept[i] = kv
			continue
		}
		seen[key] = len(kept)
		kept = append(kept, kv)
	}
	if _, ok := seen["SYSTEMROOT"]; !ok {
		if v, ok := os.LookupEnv("SYSTEMROOT"); ok {
			kept = append(kept, "SYSTEMROOT="+v)
		}
	}
	slices.SortStableFunc(kept, func(a, b string) int {
		ka, _ := envName(a)
		kb, _ := envName(b)
		return strings.Compare(ka, kb)
	})
	var block []uint16
	for _, kv := range kept {
		block = append(block, utf16.Encode([]rune(kv))...)
		block = append(block, 0)
	}
	if len(block) == 0 {
		block = append(block, 0)
	}
	return append(block, 0), nil
}

// envName returns the upper-cased name of kv ("NAME=value"; a name may
// start with '=', as the per-drive "=C:=C:\dir" do).
func envName(kv string) (string, bool) {
	if len(kv) < 2 {
		return "", false
	}
	i := strings.IndexByte(kv[1:], '=')
	if i < 0 {
		return "", false
	}
	return strings.ToUpper(kv[:i+1]), true
}

// childJob is the job object Start puts children in: it kills them when
// this process exits and its handle closes. One per process, made on first
// use and kept open for the process's life (closing it would kill the
// children), as libuv does.
var childJob struct {
	once sync.Once
	h    windows.Handle
	err  error
}

// joinChildJob puts process in the job. An access error (the system or an
// outer job forbids it) leaves the child outside the job, as libuv does.
func joinChildJob(process windows.Handle) error {
	childJob.once.Do(func() {
		h, err := windows.CreateJobObject(nil, nil)
		if err != nil {
			childJob.err = fmt.Errorf("CreateJobObject: %w", err)
			return
		}
		var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
			windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK | windows.JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK |
			windows.JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
		if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
			windows.CloseHandle(h)
			childJob.err = fmt.Errorf("SetInformationJobObject: %w", err)
			return
		}
		childJob.h = h
	})
	if childJob.err != nil {
		return childJob.err
	}
	if err := windows.AssignProcessToJobObject(childJob.h, process); err != nil && err != windows.ERROR_ACCESS_DENIED {
		return fmt.Errorf("AssignProcessToJobObject: %w", err)
	}
	return nil
}

// Pipe returns the two ends of a connected channel in this process (over a
// named pipe, framed as Node frames it on Windows), for tests and
// examples. Both ends use opts.
func Pipe(opts *Options) (a, b *Channel, err error) {
	server, client, err := newPipePair()
	if err != nil {
		return nil, nil, err
	}
	ca, err := newPipeConn(server, "node-ipc-pipe")
	if err != nil {
		windows.CloseHandle(server)
		windows.CloseHandle(client)
		return nil, nil, err
	}
	cb, err := newPipeConn(client, "node-ipc-pipe")
	if err != nil {
		ca.Close()
		windows.CloseHandle(client)
		return nil, nil, err
	}
	if a, err = NewChannel(ca, opts); err != nil {
		ca.Close()
		cb.Close()
		return nil, nil, err
	}
	if b, err = NewChannel(cb, opts); err != nil {
		a.Close()
		cb.Close()
		return nil, nil, err
	}
	return a, b, nil
}
