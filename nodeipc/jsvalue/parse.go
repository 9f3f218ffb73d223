package jsvalue

// ParseJSON: JSON.parse into the value model, on internal/jsontext's
// scanner, in one pass. The members of the objects and the elements of the
// arrays open now are gathered on two stacks the parser keeps from one
// call to the next; when a container closes, its own are moved into the
// message's memory at their exact number. That memory is a handful of
// allocations (see slab.go and package slab), not one or two per value,
// sized at first by what the parser's previous text needed, never more than
// this text could, and grown if this one needs more. Each string is taken
// from one copy of the text.

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"

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
	v, err := p.parse(data, nil)
	parsers.Put(p)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Parser parses JSON texts as ParseJSON does, into memory it keeps from
// one text to the next: the values a Parse call returns (the objects,
// arrays, boxed numbers and strings in them, and the bytes of those
// strings) live in that memory, and the next Parse call on the same Parser
// writes over it. So a program that is done with each value before it
// parses the next one (an echo, a router, a filter that reads a few fields
// and forwards the rest) parses a stream of texts of one shape without
// allocating, and without the garbage collection ParseJSON's fresh values
// cost; one that keeps values, or parts of them, uses ParseJSON, or copies
// what it keeps (strings.Clone for a string).
//
// The zero value is ready to use. A Parser is not safe for concurrent
// use. It keeps its memory for the next text while that is at most what
// the text could need (about 5 bytes per byte of text, and 4 KiB), so the
// values of a short text never hold on to a long one's memory, and at
// most 1 MiB.
type Parser struct {
	p   parser
	mem values // kept between texts
}

// Parse parses data as ParseJSON does, into p's memory: the value is valid
// until the next Parse call on p, and data is not used after the call.
func (p *Parser) Parse(data []byte) (any, error) {
	p.mem.recycle(len(data))
	v, err := p.p.parse(data, &p.mem)
	p.p.trimStacks(keepFor(len(data)))
	return v, err
}

// trimStacks drops the member and element stacks if they hold more than
// most bytes: a Parser keeps them, and a value kept with its Parser
// (Message.Value) keeps them alive too, so they may be no bigger than the
// text just parsed allows.
func (p *parser) trimStacks(most int) {
	if cap(p.mstack)*int(unsafe.Sizeof(member{}))+cap(p.estack)*int(unsafe.Sizeof(any(nil))) > most {
		p.mstack, p.estack = nil, nil
	}
}

// parse parses data with p, and readies p for its next text. The values
// take fresh memory, or with mem the memory there, which is left holding
// what they took.
func (p *parser) parse(data []byte, mem *values) (any, error) {
	if mem != nil {
		p.slab = *mem
	}
	p.b = data
	p.size()
	v, err := p.document()
	if mem != nil {
		*mem = p.slab
	}
	p.reset(err == nil)
	return v, err
}

// DecodeJSON decodes the JSON text data into v, a non-nil pointer: an
// *any, a *[]any or an *Object gets the value model (see ParseJSON), with
// key order; every other type follows encoding/json's rules (struct tags,
// json.Unmarshaler), where an interface inside a struct gets a
// map[string]any. Errors of the value model wrap ErrInvalidJSON.
func DecodeJSON(data []byte, v any) error {
	switch x := v.(type) {
	case *any:
		if x != nil {
			val, err := ParseJSON(data)
			if err == nil {
				*x = val
			}
			return err
		}
	case *[]any:
		if x != nil {
			val, err := ParseJSON(data)
			if err != nil {
				return err
			}
			switch a := val.(type) {
			case []any:
				*x = a
			case nil:
				*x = nil
			default:
				return fmt.Errorf("%w: cannot decode %T into []any", ErrInvalidJSON, val)
			}
			return nil
		}
	case *Object:
		if x != nil {
			return x.UnmarshalJSON(data)
		}
	}
	return jsontext.Unmarshal(data, v)
}

// parser holds the state of one ParseJSON call; parsers are pooled, and
// keep their stacks and what their last text used from one call to the
// next.
type parser struct {
	b     []byte
	i     int
	depth int
	slab  values
	// mstack and estack hold the members and the elements of the
	// containers open now, innermost last.
	mstack []member
	estack []any
	// used counts what this text has taken of each kind so far, and last
	// what the previous text of this parser took.
	used, last counts
}

// counts are numbers of values of each kind the slab hands out.
type counts struct{ objs, arrays, mems, elems, strs, nums int }

var parsers = sync.Pool{New: func() any { return new(parser) }}

// maxParseDepth bounds the nesting ParseJSON accepts, and so its
// recursion.
const maxParseDepth = 10000

// reset readies p for the next text; ok: this one parsed, and what it
// used is the next one's first guess.
func (p *parser) reset(ok bool) {
	clear(p.mstack) // they point into the values just returned
	clear(p.estack)
	mstack, estack, last := p.mstack[:0], p.estack[:0], p.last
	if cap(mstack) > 1<<12 {
		mstack = nil
	}
	if cap(estack) > 1<<12 {
		estack = nil
	}
	if ok {
		last = p.used
	}
	*p = parser{mstack: mstack, estack: estack, last: last}
}

// size sets the first sizes of the slab's allocations: what the previous
// text used, but never more than this one could hold, nor less than a
// share of its length; and all of them together at most hintBudget bytes
// per byte of text, plus hintSlack, so that a text unlike the last one
// (which a peer may send on purpose) does not keep much unused memory alive
// with its values.
func (p *parser) size() {
	n := len(p.b)
	guess := func(last, most, least int) int { return max(min(last, most), min(least, most)) }
	s, l := &p.slab, &p.last
	objs := guess(l.objs, n/2, n/256)
	arrs := guess(l.arrays, n/2, n/256)
	mems := guess(l.mems, n/4, n/64)
	elems := guess(l.elems, n/2, n/64)
	strs := guess(l.strs, n/3, n/64)
	nums := guess(l.nums, n/2, n/128)
	bytes := objs*int(unsafe.Sizeof(Object{})) + arrs*int(unsafe.Sizeof([]any{})) +
		mems*int(unsafe.Sizeof(member{})) + elems*int(unsafe.Sizeof(any(nil))) +
		strs*int(unsafe.Sizeof("")) + nums*8
	if budget := hintBudget*n + hintSlack; bytes > budget {
		scale := func(k int) int { return int(int64(k) * int64(budget) / int64(bytes)) }
		objs, arrs, mems, elems, strs, nums = scale(objs), scale(arrs), scale(mems), scale(elems), scale(strs), scale(nums)
	}
	s.objs.Hint, s.arrs.Hint, s.mems.Hint = objs, arrs, mems
	s.elems.Hint, s.strs.Hint, s.nums.Hint = elems, strs, nums
}

// hintBudget and hintSlack bound the memory size gives the slab before
// parsing: hintBudget bytes per byte of text, and hintSlack more. JSON
// from JSON.stringify takes about 3 bytes of values per byte of text (the
// ~1 KB message of the benchmark suite: 3 KB besides the copy of its text),
// short texts with short keys up to 7; a text that needs more than it was
// given gets it as it goes.
const (
	hintBudget = 4
	hintSlack  = 4 << 10
)

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
		s, err := p.text()
		if err != nil {
			return nil, err
		}
		if s != "" {
			p.used.strs++
		}
		return p.slab.str(s), nil
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
	p.used.nums++
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

// text parses the string at p.i into a Go string.
func (p *parser) text() (string, error) {
	i := p.i
	end, escaped, ok := jsontext.ScanString(p.b, i)
	if !ok {
		return "", p.fail("invalid string")
	}
	p.i = end
	return p.slab.text(p.b, i, end, escaped), nil
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
	o := p.slab.object()
	p.used.objs++
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return o, nil
	}
	base := len(p.mstack)
	for more := true; more; {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("expected an object key")
		}
		k, err := p.text()
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
		p.mstack = append(p.mstack, member{k, v})
		if more, err = p.after('}'); err != nil {
			return nil, err
		}
	}
	p.depth--
	ms := p.mstack[base:]
	n := len(ms)
	// The common case: no duplicate keys, array indices (if any) first and
	// ascending. Then the members are the object as they are.
	if n <= indexFrom && inJSOrder(ms) {
		o.members = p.slab.members(n)
		p.used.mems += n
		copy(o.members, ms)
		for o.nIndex < n {
			if _, ok := ArrayIndex(ms[o.nIndex].key); !ok {
				break
			}
			o.nIndex++
		}
	} else {
		for _, m := range ms {
			o.Set(m.key, m.value)
		}
	}
	clear(ms)
	p.mstack = p.mstack[:base]
	return o, nil
}

// after reads what follows a member or element: a ',' and the whitespace
// after it (more), or the container's closing byte.
func (p *parser) after(closing byte) (more bool, err error) {
	p.i = jsontext.SkipSpace(p.b, p.i)
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case ',':
			p.i = jsontext.SkipSpace(p.b, p.i+1)
			return true, nil
		case closing:
			p.i++
			return false, nil
		}
	}
	return false, p.fail("expected ',' or '" + string(closing) + "'")
}

// inJSOrder reports whether the keys of ms are distinct and in
// JavaScript's order already.
func inJSOrder(ms []member) bool {
	last, inIndices := int64(-1), true
	// seen has a bit for each key so far, chosen by its length and its
	// first and last bytes: only a key whose bit is set already can be a
	// duplicate, and only then are the keys compared.
	var seen uint64
	for i := range ms {
		k := ms[i].key
		h := uint(len(k))
		if len(k) > 0 {
			h += uint(k[0])*7 + uint(k[len(k)-1])*31
		}
		if bit := uint64(1) << (h & 63); seen&bit == 0 {
			seen |= bit
		} else {
			for j := 0; j < i; j++ {
				if ms[j].key == k {
					return false
				}
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
	p.used.arrays++
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return p.slab.array(p.slab.elements(0)), nil
	}
	base := len(p.estack)
	for more := true; more; {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.estack = append(p.estack, v)
		if more, err = p.after(']'); err != nil {
			return nil, err
		}
	}
	p.depth--
	es := p.estack[base:]
	a := p.slab.elements(len(es))
	p.used.elems += len(es)
	copy(a, es)
	clear(es)
	p.estack = p.estack[:base]
	return p.slab.array(a), nil
}
