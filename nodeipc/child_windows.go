package nodeipc

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// startupInfo is STARTUPINFOW with the two fields that carry the C
// runtime's fd table named (windows.StartupInfo leaves them blank).
type startupInfo struct {
	Cb            uint32
	Reserved      *uint16
	Desktop       *uint16
	Title         *uint16
	X             uint32
	Y             uint32
	XSize         uint32
	YSize         uint32
	XCountChars   uint32
	YCountChars   uint32
	FillAttribute uint32
	Flags         uint32
	ShowWindow    uint16
	CbReserved2   uint16
	LpReserved2   *byte
	StdInput      windows.Handle
	StdOutput     windows.Handle
	StdErr        windows.Handle
}

// startupInfo has windows.StartupInfo's size, checked at compile time.
var (
	_ [unsafe.Sizeof(startupInfo{}) - unsafe.Sizeof(windows.StartupInfo{})]byte
	_ [unsafe.Sizeof(windows.StartupInfo{}) - unsafe.Sizeof(startupInfo{})]byte
)

// The C runtime's fd table, as Microsoft's CRT and libuv lay it out in
// STARTUPINFO.lpReserved2: a u32 count, count flag bytes, then count
// pointer-sized handles (unaligned).
const (
	crtFOPEN = 0x01
	crtFPIPE = 0x08
	crtFDEV  = 0x40
	// crtMaxFDs is libuv's limit on the table (fds 0 to 255).
	crtMaxFDs = 256
)

const handleSize = int(unsafe.Sizeof(uintptr(0)))

// crtHandle returns the handle of fd in the fd table this process was
// started with, and its CRT flags.
func crtHandle(fd int) (windows.Handle, byte, error) {
	var si startupInfo
	if err := windows.GetStartupInfo((*windows.StartupInfo)(unsafe.Pointer(&si))); err != nil {
		return 0, 0, fmt.Errorf("GetStartupInfo: %w", err)
	}
	if si.LpReserved2 == nil || si.CbReserved2 < 4 {
		return 0, 0, fmt.Errorf("the process has no C runtime fd table (STARTUPINFO.lpReserved2): its parent did not pass fds the way Node does")
	}
	table := unsafe.Slice(si.LpReserved2, int(si.CbReserved2))
	count := int(binary.LittleEndian.Uint32(table))
	if count > crtMaxFDs || len(table) < 4+count*(1+handleSize) {
		return 0, 0, fmt.Errorf("the C runtime fd table is malformed (%d fds in %d bytes)", count, len(table))
	}
	if fd >= count {
		return 0, 0, fmt.Errorf("fd %d is not in the C runtime fd table (%d fds)", fd, count)
	}
	flags := table[4+fd]
	off := 4 + count + fd*handleSize
	var h uintptr
	if handleSize == 8 {
		h = uintptr(binary.LittleEndian.Uint64(table[off:]))
	} else {
		h = uintptr(binary.LittleEndian.Uint32(table[off:]))
	}
	return windows.Handle(h), flags, nil
}

// adoptFD finds fd's handle in the C runtime's fd table, checks that it is
// a pipe opened for overlapped I/O, marks it not inheritable (as a child
// of ours must not get it) and makes a Channel of it. The Channel owns the
// handle.
func adoptFD(fd int, opts *Options) (*Channel, error) {
	h, flags, err := crtHandle(fd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%d: %w", ErrInvalidChannel, envChannelFD, fd, err)
	}
	if flags&crtFOPEN == 0 || h == windows.InvalidHandle || h == 0 {
		return nil, fmt.Errorf("%w: %s=%d is not an open fd", ErrInvalidChannel, envChannelFD, fd)
	}
	typ, err := windows.GetFileType(h)
	if err != nil || typ != windows.FILE_TYPE_PIPE {
		return nil, fmt.Errorf("%w: fd %d (handle %#x) is not a pipe", ErrInvalidChannel, fd, uintptr(h))
	}
	// A synchronous handle would make every write wait for the pending
	// read: refuse it rather than hang.
	if ok, err := isOverlapped(h); err != nil || !ok {
		return nil, fmt.Errorf("%w: fd %d is a pipe not opened for overlapped I/O", ErrInvalidChannel, fd)
	}
	_ = windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, 0)
	conn, err := newPipeConn(h, "node-ipc")
	if err != nil {
		return nil, err
	}
	ch, err := NewChannel(conn, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ch, nil
}
