package jsvalue

// ParseJSON: JSON.parse into the value model, on internal/jsontext's
// scanner. It validates as it goes (one pass), collects the members of the
// containers being read on two stacks shared by the whole parse, and gives
// each container its final storage, of the exact size, when it closes.
// That storage, the objects, and the strings and numbers put in an any are
// carved out of a few larger allocations per message (see slab.go): a
// message of a hundred values costs a handful of allocations, not two per
// value.

import (
	"bytes"
	"fmt"
	"sync"

	"nodeipc.dev/internal/jsontext"
)

// ParseJSON parses JSON text the way JavaScript's JSON.parse does, into the
// values decoding into an any gives (see the package documentation): an
// *Object for each object, with its keys in JavaScript's order (of
// duplicate keys the last value wins, in the place of the first, as in
// JSON.parse), []any, float64 (±Inf for numbers beyond its range), string,
// bool and nil. An escaped lone surrogate ("\ud800", which JSON.stringify
// writes for a JavaScript string holding one) is kept in WTF-8 form, as the
// encoders of this module write it back. data must be one JSON value in
// valid UTF-8, with only whitespace around it; errors wrap ErrInvalidJSON.
// Nothing in the result shares memory with data.
func ParseJSON(data []byte) (any, error) {
	p := parsers.Get().(*parser)
	p.b = data
	v, err := p.document()
	p.reset()
	parsers.Put(p)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// parser holds the state of one ParseJSON call; parsers are pooled, and
// keep their stacks and key cache from one call to the next.
type parser struct {
	b     []byte
	i     int
	depth int
	slab  slab
	mems  []member // members of the objects being read, innermost last
	elems []any    // elements of the arrays being read, innermost last
	// keys interns short keys across the calls of this (pooled) parser,
	// so that messages of one shape do not allocate their keys again.
	keys map[string]string
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

// Bounds of the parser: nesting, and the key cache.
const (
	maxParseDepth  = 10000
	keyCacheMax    = 1024
	keyCacheMaxLen = 32
)

func (p *parser) reset() {
	clear(p.mems)
	clear(p.elems)
	mems, elems := p.mems[:0], p.elems[:0]
	if cap(mems) > 4096 {
		mems = nil
	}
	if cap(elems) > 4096 {
		elems = nil
	}
	*p = parser{mems: mems, elems: elems, keys: p.keys}
}

// fail returns the error for a problem at p.i: jsontext.Check's, which
// says exactly what is wrong, or why if the text is valid JSON.
func (p *parser) fail(why string) error {
	if err := jsontext.Check(p.b); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	return fmt.Errorf("%w: %s at byte %d", ErrInvalidJSON, why, p.i)
}

// document parses the whole text: one value and whitespace.
func (p *parser) document() (any, error) {
	p.i = jsontext.SkipSpace(p.b, 0)
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.i = jsontext.SkipSpace(p.b, p.i); p.i != len(p.b) {
		return nil, p.fail("data after the JSON value")
	}
	return v, nil
}

// value parses the value at p.i (whitespace before it skipped) and leaves
// p.i just past it.
func (p *parser) value() (any, error) {
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end of JSON text")
	}
	switch c := p.b[p.i]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		return p.str()
	case 't':
		return p.literal("true", true)
	case 'f':
		return p.literal("false", false)
	case 'n':
		return p.literal("null", nil)
	}
	end, ok := jsontext.ScanNumber(p.b, p.i)
	if !ok {
		return nil, p.fail("invalid value")
	}
	v := p.slab.number(jsontext.ParseNumber(p.b[p.i:end]))
	p.i = end
	return v, nil
}

func (p *parser) literal(lit string, v any) (any, error) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		return nil, p.fail("invalid literal")
	}
	p.i += len(lit)
	return v, nil
}

// str parses a string value.
func (p *parser) str() (any, error) {
	s, err := p.text()
	if err != nil {
		return nil, err
	}
	return p.slab.str(s), nil
}

// text parses the string at p.i into a Go string.
func (p *parser) text() (string, error) {
	end, ok := jsontext.ScanString(p.b, p.i)
	if !ok {
		return "", p.fail("invalid string")
	}
	raw := p.b[p.i:end]
	p.i = end
	if bytes.IndexByte(raw, '\\') < 0 {
		return p.slab.text(raw[1 : len(raw)-1]), nil
	}
	return p.slab.unquote(raw), nil
}

// key parses an object key, through the key cache when it is short and
// has no escapes.
func (p *parser) key() (string, error) {
	end, ok := jsontext.ScanString(p.b, p.i)
	if !ok {
		return "", p.fail("invalid object key")
	}
	raw := p.b[p.i+1 : end-1]
	if len(raw) > keyCacheMaxLen || bytes.IndexByte(raw, '\\') >= 0 {
		return p.text()
	}
	p.i = end
	if s, ok := p.keys[string(raw)]; ok {
		return s, nil
	}
	s := string(raw)
	if p.keys == nil {
		p.keys = make(map[string]string)
	}
	if len(p.keys) < keyCacheMax {
		p.keys[s] = s
	}
	return s, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.fail(fmt.Sprintf("nested more than %d levels", maxParseDepth))
	}
	return nil
}

// object parses an object; p.b[p.i] is '{'.
func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	start := len(p.mems)
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return p.slab.object(), nil
	}
	for {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		p.i = jsontext.SkipSpace(p.b, p.i)
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("expected ':' after object key")
		}
		p.i = jsontext.SkipSpace(p.b, p.i+1)
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.mems = append(p.mems, member{k, v})
		p.i = jsontext.SkipSpace(p.b, p.i)
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i = jsontext.SkipSpace(p.b, p.i+1)
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			break
		}
		return nil, p.fail("expected ',' or '}'")
	}
	o := p.objectOf(p.mems[start:])
	clear(p.mems[start:])
	p.mems = p.mems[:start]
	p.depth--
	return o, nil
}

// objectOf makes an Object of the members read, in the order read.
func (p *parser) objectOf(ms []member) *Object {
	o := p.slab.object()
	// The common case: no duplicate keys, array indices (if any) first and
	// ascending. Then the members are the object as they are.
	if len(ms) <= indexFrom && inJSOrder(ms) {
		o.members = p.slab.members(ms)
		for o.nIndex < len(ms) {
			if _, ok := ArrayIndex(ms[o.nIndex].key); !ok {
				break
			}
			o.nIndex++
		}
		return o
	}
	o.members = make([]member, 0, len(ms))
	for _, m := range ms {
		o.Set(m.key, m.value)
	}
	return o
}

// inJSOrder reports whether the keys of ms are distinct and in
// JavaScript's order already.
func inJSOrder(ms []member) bool {
	last, inIndices := int64(-1), true
	for i := range ms {
		k := ms[i].key
		for j := 0; j < i; j++ {
			if ms[j].key == k {
				return false
			}
		}
		if len(k) > 0 && k[0] <= '9' {
			if n, ok := ArrayIndex(k); ok {
				if !inIndices || int64(n) <= last {
					return false
				}
				last = int64(n)
				continue
			}
		}
		inIndices = false
	}
	return true
}

// array parses an array; p.b[p.i] is '['.
func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	start := len(p.elems)
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return []any{}, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
		p.i = jsontext.SkipSpace(p.b, p.i)
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i = jsontext.SkipSpace(p.b, p.i+1)
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			break
		}
		return nil, p.fail("expected ',' or ']'")
	}
	a := p.slab.elements(p.elems[start:])
	clear(p.elems[start:])
	p.elems = p.elems[:start]
	p.depth--
	return a, nil
}
