package jsvalue

// ParseJSON: JSON.parse into the value model, on internal/jsontext's
// scanner, in two passes. The first (count) measures: how many members or
// elements each container has, in the order they open, and how many
// objects, arrays, string values and numbers there are; and it scans each
// string, noting where it ends and whether it has escapes. The second
// (value and below) validates the rest and builds, writing each member and
// element straight into its final place, and taking each string from one
// copy of the text: the memory of all the values of a message is a handful
// of allocations of exactly the size needed (see slab.go and package
// slab), not one or two per value.

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
	p.count()
	v, err := p.document()
	p.reset()
	parsers.Put(p)
	if err != nil {
		return nil, err
	}
	return v, nil
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
// keep their buffers from one call to the next.
type parser struct {
	b     []byte
	i     int
	depth int
	slab  values
	// sizes holds the number of members or elements of each container, in
	// the order they open (from count); next is the next one to open.
	sizes []int32
	next  int
	// open is count's stack: for each open container, its index in sizes
	// times two, plus one for an object.
	open []int
	// strs holds the strings count scanned (keys and values), in order;
	// nStr is the next one to read.
	strs []span
	nStr int
	// counts is what count found in all: the sizes of the slab's
	// allocations.
	counts struct{ objs, arrays, mems, elems, strs, nums int }
}

// span is a string of the text as count scanned it: from its opening
// quote to just past its closing one, and whether it has escapes. Texts of
// 2 GiB or more have no spans (the second pass scans their strings).
type span struct {
	start, end int32
	escaped    bool
}

var parsers = sync.Pool{New: func() any { return new(parser) }}

// maxParseDepth bounds the nesting ParseJSON accepts, and so its
// recursion.
const maxParseDepth = 10000

func (p *parser) reset() {
	sizes, open, strs := p.sizes[:0], p.open[:0], p.strs[:0]
	if cap(sizes) > 1<<16 {
		sizes = nil
	}
	if cap(open) > 1<<10 {
		open = nil
	}
	if cap(strs) > 1<<16 {
		strs = nil
	}
	*p = parser{sizes: sizes, open: open, strs: strs}
}

// count measures the text for the second pass (see the top of the file),
// and sets the sizes of the slab's allocations. It validates only strings:
// on text that is not JSON the sizes are wrong, and the second pass fails
// where the text does, never writing past the runs it was given.
func (p *parser) count() {
	b := p.b
	// The counts live in p, not in local variables: the loop then has
	// little to keep in registers across its calls to the string scanner,
	// and little to spill on every turn.
	n := &p.counts
	key := false // the next string is an object key
scan:
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '"':
			end, escaped, ok := jsontext.ScanString(b, i)
			if !ok {
				break scan
			}
			if !key && end-i > 2 {
				n.strs++ // a string value, not empty: boxed in the slab
			}
			key = false
			if len(b) < 1<<31 {
				p.strs = append(p.strs, span{int32(i), int32(end), escaped})
			}
			i = end
			continue
		case '{', '[':
			obj := 0
			if c == '{' {
				n.objs, obj = n.objs+1, 1
			} else {
				n.arrays++
			}
			p.open = append(p.open, len(p.sizes)<<1|obj)
			key = obj == 1
			j := jsontext.SkipSpace(b, i+1)
			var size int32
			if j < len(b) && b[j] != '}' && b[j] != ']' {
				size = 1
			}
			p.sizes = append(p.sizes, size)
			i = j
			continue
		case ',':
			if k := len(p.open); k > 0 {
				top := p.open[k-1]
				p.sizes[top>>1]++
				key = top&1 == 1
			}
		case '}', ']':
			if k := len(p.open); k > 0 {
				top := p.open[k-1]
				if top&1 == 1 {
					n.mems += int(p.sizes[top>>1])
				} else {
					n.elems += int(p.sizes[top>>1])
				}
				p.open = p.open[:k-1]
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			n.nums++
			for i++; i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == '.' || b[i] == 'e' || b[i] == 'E' || b[i] == '+' || b[i] == '-'); i++ {
			}
			continue
		}
		i++
	}
	// Containers left open: the text is cut short, and the second pass
	// will say so. Their members were not counted.
	p.open = p.open[:0]
	s := &p.slab
	s.objs.Hint, s.arrs.Hint, s.mems.Hint, s.elems.Hint = n.objs, n.arrays, n.mems, n.elems
	s.strs.Hint, s.nums.Hint = n.strs, n.nums
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
		s, err := p.text()
		if err != nil {
			return nil, err
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

// text parses the string at p.i into a Go string: the one count scanned
// there, or (if count stopped short of it) scanned now.
func (p *parser) text() (string, error) {
	i := p.i
	var end int
	var escaped bool
	if k := p.nStr; k < len(p.strs) && int(p.strs[k].start) == i {
		p.nStr++
		end, escaped = int(p.strs[k].end), p.strs[k].escaped
	} else {
		var ok bool
		if end, escaped, ok = jsontext.ScanString(p.b, i); !ok {
			return "", p.fail("invalid string")
		}
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

// size returns the number of members or elements count found for the
// container opening now.
func (p *parser) size() int {
	if p.next >= len(p.sizes) {
		return 0
	}
	n := int(p.sizes[p.next])
	p.next++
	return n
}

// object parses an object; p.b[p.i] is '{'.
func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	o := p.slab.object()
	ms := p.slab.members(p.size())
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return o, nil
	}
	n := 0
	for more := true; more; n++ {
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
		if n >= len(ms) {
			return nil, p.fail("miscounted object") // cannot happen on valid JSON
		}
		ms[n] = member{k, v}
		if more, err = p.after('}'); err != nil {
			return nil, err
		}
	}
	p.depth--
	ms = ms[:n:n]
	// The common case: no duplicate keys, array indices (if any) first and
	// ascending. Then the members are the object as they are.
	if n <= indexFrom && inJSOrder(ms) {
		o.members = ms
		for o.nIndex < n {
			if _, ok := ArrayIndex(ms[o.nIndex].key); !ok {
				break
			}
			o.nIndex++
		}
		return o, nil
	}
	for _, m := range ms {
		o.Set(m.key, m.value)
	}
	clear(ms) // o has its own copy
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
	a := p.slab.elements(p.size())
	p.i = jsontext.SkipSpace(p.b, p.i+1)
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return p.slab.array(a), nil
	}
	n := 0
	for more := true; more; n++ {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if n >= len(a) {
			return nil, p.fail("miscounted array") // cannot happen on valid JSON
		}
		a[n] = v
		if more, err = p.after(']'); err != nil {
			return nil, err
		}
	}
	p.depth--
	return p.slab.array(a[:n:n]), nil
}
