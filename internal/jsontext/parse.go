package jsontext

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse parses the JSON text data the way JSON.parse does: objects as
// map[string]any (the last of duplicate keys wins), arrays as []any,
// numbers as float64 (±Inf for those out of range, as JSON.parse gives),
// strings as string, and true, false and null as bool and nil. An escaped
// lone surrogate (\uD800, which JSON.stringify writes for a JavaScript
// string holding one) is kept in WTF-8 form, as AppendString writes it
// back. data is checked first (see Check); every error is a *SyntaxError.
func Parse(data []byte) (any, error) {
	if err := Check(data); err != nil {
		return nil, err
	}
	p := parser{b: data}
	return p.value(0)
}

// parser parses JSON text that Check has accepted.
type parser struct {
	b []byte
	i int
}

// maxParseDepth bounds the nesting Parse accepts, and so its recursion.
const maxParseDepth = 10000

func (p *parser) fail() error {
	return &SyntaxError{Offset: p.i, Reason: "invalid JSON text"}
}

func (p *parser) space() {
	for p.i < len(p.b) && IsSpace(p.b[p.i]) {
		p.i++
	}
}

func (p *parser) value(depth int) (any, error) {
	if depth > maxParseDepth {
		return nil, &SyntaxError{Offset: p.i, Reason: fmt.Sprintf("nested more than %d levels", maxParseDepth)}
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, p.fail()
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return m, nil
		}
		for {
			p.space()
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.fail()
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == '}' {
				p.i++
				return m, nil
			}
			return nil, p.fail()
		}
	case c == '[':
		p.i++
		a := []any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return a, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == ']' {
				p.i++
				return a, nil
			}
			return nil, p.fail()
		}
	case c == '"':
		return p.str()
	case c == 't' && bytesHasPrefix(p.b[p.i:], "true"):
		p.i += 4
		return true, nil
	case c == 'f' && bytesHasPrefix(p.b[p.i:], "false"):
		p.i += 5
		return false, nil
	case c == 'n' && bytesHasPrefix(p.b[p.i:], "null"):
		p.i += 4
		return nil, nil
	}
	start := p.i
	for p.i < len(p.b) && strings.IndexByte("+-0123456789.eE", p.b[p.i]) >= 0 {
		p.i++
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // 1e999 is Infinity, as in JSON.parse
		return nil, p.fail()
	}
	return f, nil
}

func bytesHasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// str parses a JSON string; p.b[p.i] must be '"'.
func (p *parser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", p.fail()
	}
	p.i++
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", p.fail()
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail()
			}
			if r >= 0xD800 && r < 0xDC00 && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				save := p.i
				p.i += 2
				if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo < 0xE000 {
					out = utf8.AppendRune(out, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
					continue
				}
				p.i = save
			}
			if r >= 0xD800 && r < 0xE000 {
				// A lone surrogate, kept as WTF-8.
				out = append(out, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
				continue
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, e)
		}
	}
	return "", p.fail()
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
