package jsontext

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// AppendString appends s to dst as a JSON string, the way JavaScript's
// JSON.stringify writes the string s stands for:
//
//   - '"' and '\\' are escaped, as are the control characters below U+0020:
//     \b, \t, \n, \f and \r in their short forms, the others as \u00XX;
//   - U+2028 and U+2029 are written \u2028 and \u2029 (JSON.parse reads
//     either form; the fast encoder of Encoder.Append escapes them, so both
//     encoders write the same bytes);
//   - a lone UTF-16 surrogate held in WTF-8 form (the three bytes ED A0-BF
//     80-BF that UTF-8 would give it, which is how the decoders of this
//     module keep the lone surrogates of JavaScript strings) is written as
//     \uDXXX, as JSON.stringify writes a lone surrogate;
//   - every other byte that is not part of valid UTF-8 is written as \ufffd
//     (U+FFFD, the replacement character), one per byte, as encoding/json
//     does and as the V8 encoder sends it;
//   - everything else, HTML characters included, is written as it is.
//
// Hex digits are lower case, as in JSON.stringify.
func AppendString(dst []byte, s string) []byte {
	// Most strings need no escape. They are copied as they are checked, a
	// word at a time, into room made once; at the first byte that may need
	// an escape, appendEscaped takes over.
	n := len(dst)
	dst = slices.Grow(dst, len(s)+2)
	buf := dst[:n+len(s)+2]
	buf[n] = '"'
	out := buf[n+1 : n+1+len(s)]
	in := unsafe.Slice(unsafe.StringData(s), len(s))
	switch {
	case len(in) >= 8:
		// Eight bytes at a time, and the last eight bytes (in part again).
		for i := 0; ; i += 8 {
			if i+8 > len(in) {
				i = len(in) - 8
			}
			w := binary.LittleEndian.Uint64(in[i:])
			binary.LittleEndian.PutUint64(out[i:], w)
			if m := specialBytes(w); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				return appendEscaped(buf[:n+1+i], s, i)
			}
			if i+8 == len(in) {
				break
			}
		}
	case len(in) >= 4:
		// The first four bytes and the last four, which may overlap.
		lo, hi := binary.LittleEndian.Uint32(in), binary.LittleEndian.Uint32(in[len(in)-4:])
		binary.LittleEndian.PutUint32(out, lo)
		binary.LittleEndian.PutUint32(out[len(out)-4:], hi)
		if specialBytes(uint64(lo)|uint64(hi)<<32) != 0 {
			return appendEscaped(buf[:n+1], s, 0)
		}
	default:
		for i := range len(in) {
			c := in[i]
			if !strPlain[c] {
				return appendEscaped(buf[:n+1+i], s, i)
			}
			out[i] = c
		}
	}
	buf[n+1+len(s)] = '"'
	return buf
}

// plainPrefix returns the length of the longest prefix of s that is
// written as it is without a closer look: ASCII from U+0020 on, other
// than '"' and '\\'.
func plainPrefix(s string) int {
	i := 0
	if len(s) >= 8 {
		b := unsafe.Slice(unsafe.StringData(s), len(s))
		for ; i+8 <= len(b); i += 8 {
			if m := specialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				return i + bits.TrailingZeros64(m)>>3
			}
		}
	}
	for i < len(s) && strPlain[s[i]] {
		i++
	}
	return i
}

// appendEscaped is AppendString from s[i], with the opening quote and
// s[:i] (plain) appended already.
func appendEscaped(dst []byte, s string, i int) []byte {
	const hex = "0123456789abcdef"
	start := i // s[start:i] is pending, to be copied as is
	for i < len(s) {
		if j := plainPrefix(s[i:]); j > 0 {
			i += j
			if i == len(s) {
				break
			}
		}
		c := s[i]
		if c < utf8.RuneSelf { // '"', '\\' or a control character
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			if u, ok := surrogateAt(s, i); ok {
				dst = append(dst, '\\', 'u', 'd', hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
				size = 3
			} else {
				dst = append(dst, `\ufffd`...)
			}
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// surrogateAt reports whether s[i:] starts with a UTF-16 surrogate
// (U+D800 to U+DFFF) in WTF-8 form, ED A0-BF 80-BF, and returns it.
func surrogateAt(s string, i int) (rune, bool) {
	if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
		return 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), true
	}
	return 0, false
}
