package v8

import (
	"errors"
	"strconv"
)

// ErrTooLarge is wrapped by the error for data, or a serialized value, of
// 2 GiB or more: Node reads no larger payload (Node 20 reads the length of
// an advanced-mode frame as a signed 32-bit integer).
var ErrTooLarge = errors.New("v8: payload of 2 GiB or more")

// Error is the error of Unmarshal for data that is not a valid serialized
// value, or does not fit the Go value given, and of Marshal and Append for
// a Go value that cannot be serialized (or that Node could not read).
type Error struct {
	// Op is "unmarshal" or "marshal".
	Op string
	// Offset is the byte offset in the data where Unmarshal found the
	// problem, or -1.
	Offset int
	// Reason says what is wrong.
	Reason string
	// Err is ErrTooLarge when the size is the problem, and nil otherwise.
	Err error
}

var _ error = (*Error)(nil)

// Error returns "v8: unmarshal at offset N: reason" or "v8: cannot
// serialize reason".
func (e *Error) Error() string {
	if e.Op == "marshal" {
		return "v8: cannot serialize " + e.Reason
	}
	if e.Offset < 0 {
		return "v8: " + e.Op + ": " + e.Reason
	}
	return "v8: " + e.Op + " at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
