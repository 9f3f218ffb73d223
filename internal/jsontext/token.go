package jsontext

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The pieces a hand-written decoder reads JSON text with, the same ones
// Scan validates with, so that every reader of JSON in the module accepts
// exactly what JSON.parse accepts.

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (see IsSpace), or len(b).
func SkipSpace(b []byte, i int) int { return skipSpace(b, i) }

// ScanString scans the JSON string that starts at b[i] (a '"') and returns
// the index just past its closing quote, whether it has escapes (if not,
// its value is the bytes between the quotes), and true if it is valid (no
// raw control characters, valid escapes, valid UTF-8), or where the
// problem is and false.
func ScanString(b []byte, i int) (end int, escaped, ok bool) { return scanStringAt(b, i) }

// ScanNumber scans the JSON number that starts at b[i] and returns the
// index just past it and true, or where the problem is and false.
func ScanNumber(b []byte, i int) (int, bool) {
	ok := scanNumber(b, &i)
	return i, ok
}

// ParseNumber returns the value of a JSON number that ScanNumber accepted,
// as JSON.parse gives it: the nearest float64, ±Inf beyond its range, and
// -0 for "-0".
func ParseNumber(num []byte) float64 {
	// The fast path: at most 15 digits and no exponent. The digits, as an
	// integer m, and 10^k for the k digits after the point are exact in a
	// float64, so m/10^k, one correctly rounded division, is the nearest
	// float64 to the number (Clinger's fast path, as strconv takes it).
	i, neg := 0, false
	if len(num) > 0 && num[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	digits, point := 0, -1
	for ; i < len(num); i++ {
		c := num[i]
		if c >= '0' && c <= '9' {
			m = m*10 + uint64(c-'0')
			digits++
			if digits > 15 {
				goto slow
			}
			continue
		}
		if c != '.' || point >= 0 {
			goto slow
		}
		point = i
	}
	if digits > 0 {
		f := float64(m)
		if point >= 0 {
			f /= exactPow10[len(num)-1-point] // at most 15 digits after the point
		}
		if neg {
			f = -f
		}
		return f
	}
slow:
	// ParseFloat does not keep its argument, so the bytes are not copied.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(num), len(num)), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN() // not a number ScanNumber accepted
	}
	return f // ±Inf out of range, as JSON.parse gives
}

// exactPow10 holds the powers of ten that are exact in a float64 and that
// ParseNumber's fast path divides by.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// AppendUnquoted appends the value of the JSON string literal s (its
// quotes included), which ScanString accepted, to dst. An escaped lone
// surrogate (\ud800, which JSON.stringify writes for a JavaScript string
// holding one) is appended in WTF-8 form, as AppendString writes it back.
func AppendUnquoted(dst, s []byte) []byte {
	if len(s) < 2 {
		return dst
	}
	s = s[1 : len(s)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			start := i
			for i < len(s) && s[i] != '\\' {
				i++
			}
			dst = append(dst, s[start:i]...)
			continue
		}
		if i+1 >= len(s) {
			return dst
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				return dst
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if lo, ok := hex4(s, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
					dst = utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
					i += 6
					continue
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				// A lone surrogate, kept as WTF-8.
				dst = append(dst, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
				continue
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

// hex4 reads the four hex digits at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
