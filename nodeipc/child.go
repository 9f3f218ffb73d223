package nodeipc

import (
	"fmt"
	"os"
)

// Environment variables of the channel, as Node sets them.
const (
	envChannelFD   = "NODE_CHANNEL_FD"
	envChannelMode = "NODE_CHANNEL_SERIALIZATION_MODE"
	envUniqueID    = "NODE_UNIQUE_ID"
)

// FromEnv adopts the IPC channel a Node.js parent gave this process, the way
// a Node child does at startup: it reads NODE_CHANNEL_FD (any fd number: 3
// from fork(), another from spawn() with 'ipc' at another stdio index) and
// NODE_CHANNEL_SERIALIZATION_MODE ("" and "json" mean json), removes both
// from the environment so that programs this process starts do not inherit
// them, and marks the fd close-on-exec for the same reason.
//
// On Windows the fd is one of the C runtime's, whose table Node passes in
// STARTUPINFO.lpReserved2, and the channel is a named pipe: FromEnv takes
// its handle from that table and marks it not inheritable.
//
// opts.Serialization is ignored: the parent chose the mode. FromEnv returns
// an error wrapping ErrNoChannel when NODE_CHANNEL_FD is unset or empty, and
// one wrapping ErrInvalidChannel when it does not name an open Unix stream
// socket (on Windows: a pipe opened for overlapped I/O) or the mode is
// unknown. The variables are removed in every case.
func FromEnv(opts *Options) (*Channel, error) {
	fdText, _ := os.LookupEnv(envChannelFD)
	modeText, _ := os.LookupEnv(envChannelMode)
	os.Unsetenv(envChannelFD)
	os.Unsetenv(envChannelMode)
	if fdText == "" {
		return nil, ErrNoChannel
	}
	fd, ok := parseFD(fdText)
	if !ok {
		return nil, fmt.Errorf("%w: %s=%q is not a file descriptor number", ErrInvalidChannel, envChannelFD, fdText)
	}
	var mode Serialization
	if err := mode.UnmarshalText([]byte(modeText)); err != nil {
		return nil, fmt.Errorf("%w: %s=%q is not json or advanced", ErrInvalidChannel, envChannelMode, modeText)
	}
	o := opts.withDefaults()
	o.Serialization = mode
	return adoptFD(fd, &o)
}

// parseFD parses the fd number the way Node's parseInt(value, 10) does:
// leading whitespace and trailing garbage are ignored ("4x" is 4); a
// negative or missing number is refused.
func parseFD(s string) (int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
		i++
	}
	if i < len(s) && s[i] == '+' {
		i++
	}
	n, digits := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		digits++
		if n > 1<<30 {
			return 0, false
		}
	}
	return n, digits > 0
}
