package jsontext

import (
	"encoding/binary"
	"unicode/utf8"
)

// The first version of scanJSON, kept to check the current one against
// (FuzzScanJSONSameAsReference): a closure-based scanner, slower but simple.

// scanJSON validates b as exactly one JSON value (RFC 8259, what JSON.parse
// accepts, with surrounding whitespace) in valid UTF-8, in one pass and
// without allocating, and notes whether a top-level "cmd" key is present.
// Nesting is tracked with a bit stack, not recursion, so depth costs no
// stack.
func scanJSONRef(b []byte) ScanResult {
	const (
		inObject = 1
		inArray  = 2
	)
	var stack []byte // container kinds; allocated only past 64 levels
	var small [64]byte
	stack = small[:0]
	i := 0
	fail := func(at int, why string) ScanResult {
		if at < len(b) && b[at] >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(b[at:]); r == utf8.RuneError && size == 1 {
				why = "invalid UTF-8"
			}
		}
		return ScanResult{ErrAt: at, Reason: why}
	}
	skipSpace := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	cmd := false
	// key scans an object key and its ':' (and the space after), noting a
	// top-level "cmd"; on failure keyErr says why.
	var keyErr string
	key := func(top bool) bool {
		start := i
		if !scanStringRef(b, &i) {
			keyErr = "invalid object key"
			return false
		}
		if top && isCmdKey(b[start:i]) {
			cmd = true
		}
		skipSpace()
		if i >= len(b) || b[i] != ':' {
			keyErr = "expected ':' after object key"
			return false
		}
		i++
		skipSpace()
		return true
	}
	skipSpace()
	for {
		// A value is expected at b[i].
		if i >= len(b) {
			return fail(i, "unexpected end of JSON text")
		}
		switch c := b[i]; {
		case c == '{':
			i++
			skipSpace()
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			stack = append(stack, inObject)
			if !key(len(stack) == 1) {
				return fail(i, keyErr)
			}
			continue
		case c == '[':
			i++
			skipSpace()
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			stack = append(stack, inArray)
			continue
		case c == '"':
			if !scanStringRef(b, &i) {
				return fail(i, "invalid string")
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if !scanNumber(b, &i) {
				return fail(i, "invalid number")
			}
		case c == 't':
			if !hasLiteral(b, i, "true") {
				return fail(i, "invalid literal")
			}
			i += 4
		case c == 'f':
			if !hasLiteral(b, i, "false") {
				return fail(i, "invalid literal")
			}
			i += 5
		case c == 'n':
			if !hasLiteral(b, i, "null") {
				return fail(i, "invalid literal")
			}
			i += 4
		default:
			return fail(i, "invalid character")
		}
		// After a value: close containers or go to the next element.
		for {
			skipSpace()
			if len(stack) == 0 {
				if i != len(b) {
					return fail(i, "data after the JSON value")
				}
				return ScanResult{ErrAt: -1, Cmd: cmd}
			}
			if i >= len(b) {
				return fail(i, "unexpected end of JSON text")
			}
			top := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				i++
				skipSpace()
				if top == inObject && !key(len(stack) == 1) {
					return fail(i, keyErr)
				}
				break // a value follows
			}
			if (top == inObject && c == '}') || (top == inArray && c == ']') {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			return fail(i, "expected ',' or the end of the container")
		}
	}
}

// scanString advances *i past the string starting at b[*i] (a '"'), and
// reports whether it is valid: no raw control characters, valid escapes,
// valid UTF-8. On failure *i is where the problem is.
func scanStringRef(b []byte, i *int) bool {
	j := *i
	if j >= len(b) || b[j] != '"' {
		return false
	}
	j++
	for {
		// Fast path: eight bytes at a time while none of them is a quote,
		// a backslash, a control character or non-ASCII.
		for j+8 <= len(b) && plainASCII8(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		// Then byte by byte.
		for j < len(b) {
			c := b[j]
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			j++
		}
		if j >= len(b) {
			*i = j
			return false
		}
		switch c := b[j]; {
		case c == '"':
			*i = j + 1
			return true
		case c == '\\':
			if j+1 >= len(b) {
				*i = j
				return false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if len(b)-j < 6 || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					*i = j
					return false
				}
				j += 6
			default:
				*i = j
				return false
			}
		case c < 0x20:
			*i = j
			return false
		default: // a multi-byte UTF-8 sequence
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				*i = j
				return false
			}
			j += size
		}
	}
}
