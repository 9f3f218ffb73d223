package jsontext

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainASCII8 reports whether none of the eight bytes in w needs a closer
// look inside a JSON string: no byte below 0x20, no '"', no '\\', none at
// or above 0x80. (Word-at-a-time zero-byte tests: x-ones & ^x & highs is
// non-zero exactly when some byte of x is zero.)
func plainASCII8(w uint64) bool {
	if w&highs != 0 {
		return false
	}
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	control := w - ones*0x20 // a byte below 0x20 borrows into its high bit
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|control)&highs == 0
}

// specialBytes returns a mask with the high bit set in the bytes of w that
// need a closer look inside a JSON string (as for plainASCII8). Only the
// lowest set bit is exact (a borrow may mark bytes above it), which is all
// scanStringAt uses: it finds the first such byte.
func specialBytes(w uint64) uint64 {
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	control := w - ones*0x20
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | control | w) & highs
}

// scanResult is what scanJSON learns about a JSON text in its single pass.
type ScanResult struct {
	// errAt is the byte offset of the first error, or -1 if the text is one
	// valid JSON value in valid UTF-8.
	ErrAt int
	// reason says what the error is.
	Reason string
	// cmd reports that the value is an object with a top-level key that
	// is, or may be (it has escapes), "cmd": only then can the message be
	// internal, and only then is the slower exact check needed.
	Cmd bool
}

// scanJSON validates b as exactly one JSON value (RFC 8259, what JSON.parse
// accepts, with surrounding whitespace) in valid UTF-8, in one pass and
// without allocating, and notes whether a top-level "cmd" key is present.
// Nesting is tracked with a stack of container kinds, not recursion, so
// depth costs no goroutine stack. (It is one loop over local variables,
// written for speed: every received message goes through it.)
func Scan(b []byte) ScanResult {
	const (
		inObject = 1
		inArray  = 2
	)
	var small [64]byte
	stack := small[:0] // allocated only past 64 levels
	cmd := false
	n := len(b)
	i := skipSpace(b, 0)
	for {
		// A value is expected at b[i].
		if i >= n {
			return scanFail(b, i, "unexpected end of JSON text")
		}
		switch c := b[i]; c {
		case '"':
			j, _, ok := scanStringAt(b, i)
			if !ok {
				return scanFail(b, j, "invalid string")
			}
			i = j
		case '{':
			i = skipSpace(b, i+1)
			if i < n && b[i] == '}' {
				i++
				break
			}
			stack = append(stack, inObject)
			next, isCmd, why := scanKey(b, i, len(stack) == 1)
			if why != "" {
				return scanFail(b, next, why)
			}
			cmd = cmd || isCmd
			i = next
			continue
		case '[':
			i = skipSpace(b, i+1)
			if i < n && b[i] == ']' {
				i++
				break
			}
			stack = append(stack, inArray)
			continue
		case 't':
			if !hasLiteral(b, i, "true") {
				return scanFail(b, i, "invalid literal")
			}
			i += 4
		case 'f':
			if !hasLiteral(b, i, "false") {
				return scanFail(b, i, "invalid literal")
			}
			i += 5
		case 'n':
			if !hasLiteral(b, i, "null") {
				return scanFail(b, i, "invalid literal")
			}
			i += 4
		default:
			if c != '-' && (c < '0' || c > '9') {
				return scanFail(b, i, "invalid character")
			}
			if !scanNumber(b, &i) {
				return scanFail(b, i, "invalid number")
			}
		}
		// After a value: close containers or go to the next element.
	after:
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				if i != n {
					return scanFail(b, i, "data after the JSON value")
				}
				return ScanResult{ErrAt: -1, Cmd: cmd}
			}
			if i >= n {
				return scanFail(b, i, "unexpected end of JSON text")
			}
			top := stack[len(stack)-1]
			switch c := b[i]; {
			case c == ',':
				i = skipSpace(b, i+1)
				if top == inObject {
					next, isCmd, why := scanKey(b, i, len(stack) == 1)
					if why != "" {
						return scanFail(b, next, why)
					}
					cmd = cmd || isCmd
					i = next
				}
				break after // a value follows
			case (top == inObject && c == '}') || (top == inArray && c == ']'):
				i++
				stack = stack[:len(stack)-1]
			default:
				return scanFail(b, i, "expected ',' or the end of the container")
			}
		}
	}
}

// scanFail is scanJSON's error result: at is where, why what (made
// "invalid UTF-8" when that is what is at b[at]).
func scanFail(b []byte, at int, why string) ScanResult {
	if at < len(b) && b[at] >= utf8.RuneSelf {
		if r, size := utf8.DecodeRune(b[at:]); r == utf8.RuneError && size == 1 {
			why = "invalid UTF-8"
		}
	}
	return ScanResult{ErrAt: at, Reason: why}
}

// space marks the four whitespace bytes JSON allows around and between
// tokens.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// IsSpace reports whether c is whitespace JSON.parse allows around a value:
// space, tab, line feed or carriage return.
func IsSpace(c byte) bool { return space[c] }

// TrimSpace returns b without the JSON whitespace (see IsSpace) at its
// start and end.
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && space[b[0]] {
		b = b[1:]
	}
	for len(b) > 0 && space[b[len(b)-1]] {
		b = b[:len(b)-1]
	}
	return b
}

// SyntaxError is the error of Check: what is wrong with a JSON text, and
// where.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the text, or -1 for an
	// empty text.
	Offset int
	// Reason says what is wrong, e.g. "invalid UTF-8".
	Reason string
}

// Error returns the reason and, if known, its offset: "invalid string at
// byte 7".
func (e *SyntaxError) Error() string {
	if e.Offset < 0 {
		return e.Reason
	}
	return e.Reason + " at byte " + strconv.Itoa(e.Offset)
}

// Check returns nil if b is exactly one JSON value (RFC 8259, what
// JSON.parse accepts, with whitespace around it) in valid UTF-8, and a
// *SyntaxError otherwise.
func Check(b []byte) error {
	if len(TrimSpace(b)) == 0 {
		return &SyntaxError{Offset: -1, Reason: "empty JSON text"}
	}
	if r := Scan(b); r.ErrAt >= 0 {
		return &SyntaxError{Offset: r.ErrAt, Reason: r.Reason}
	}
	return nil
}

// skipSpace returns the index of the first non-whitespace byte at or
// after i. (Small enough to be inlined: most positions have no space.)
func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipSpaceSlow(b, i)
}

func skipSpaceSlow(b []byte, i int) int {
	for i < len(b) && space[b[i]] {
		i++
	}
	return i
}

// scanKey scans an object key starting at b[i], the ':' after it and the
// whitespace around that, and returns where the value starts and, for a
// key of the top-level object (top), whether it is, or may be, "cmd"; on
// failure it returns where and why.
func scanKey(b []byte, i int, top bool) (next int, isCmd bool, why string) {
	j, _, ok := scanStringAt(b, i)
	if !ok {
		return j, false, "invalid object key"
	}
	k := skipSpace(b, j)
	if k >= len(b) || b[k] != ':' {
		return k, false, "expected ':' after object key"
	}
	return skipSpace(b, k+1), top && isCmdKey(b[i:j]), ""
}

// isCmdKey reports whether the quoted key k is "cmd", or could be once its
// escapes are decoded.
func isCmdKey(k []byte) bool {
	if string(k) == `"cmd"` {
		return true
	}
	for _, c := range k {
		if c == '\\' {
			return true
		}
	}
	return false
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// strPlain marks the bytes that need no closer look inside a JSON string:
// not a control character, '"', '\\' or non-ASCII.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanStringAt scans the string starting at b[i] (a '"') and returns the
// index just past it, whether it has escapes, and true if it is valid (no
// raw control characters, valid escapes, valid UTF-8), or where the
// problem is and false.
func scanStringAt(b []byte, i int) (end int, escaped, ok bool) {
	j := i
	if j >= len(b) || b[j] != '"' {
		return i, false, false
	}
	j++
	for {
		// Fast path: eight bytes at a time, jumping straight to the first
		// byte that needs a closer look; the last few byte by byte.
		for j+8 <= len(b) {
			if m := specialBytes(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto special
			}
			j += 8
		}
		for j < len(b) && strPlain[b[j]] {
			j++
		}
	special:
		if j >= len(b) {
			return j, escaped, false
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return j, escaped, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(b)-j < 6 || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return j, escaped, false
				}
				j += 6
			default:
				return j, escaped, false
			}
		case c < 0x20:
			return j, escaped, false
		default: // a multi-byte UTF-8 sequence
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return j, escaped, false
			}
			j += size
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber advances *i past a JSON number and reports whether it is one.
func scanNumber(b []byte, i *int) bool {
	j := *i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		*i = j
		return false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			*i = j
			return false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			*i = j
			return false
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	}
	*i = j
	return true
}
