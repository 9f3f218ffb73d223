package jsontext

import "unicode/utf8"

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
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied as is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
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
