package jsvalue

import (
	"strings"
	"testing"
	"unsafe"
)

// parseWith parses text with p.
func parseWith(p *parser, text string) (any, error) { return p.parse([]byte(text), nil) }

// A parser sizes its allocations by what its last text used, so a stream
// of texts of one shape allocates once per kind of value; but never more
// than the text at hand could hold.
func TestParseSizesByTheLastText(t *testing.T) {
	p := new(parser)
	shape := `{"id":1,"user":{"name":"Ada","roles":["a","b"]},"items":[{"sku":"x","qty":2.5},{"sku":"y","qty":3}],"tags":[]}`
	if _, err := parseWith(p, shape); err != nil {
		t.Fatal(err)
	}
	want := counts{objs: 4, arrays: 3, mems: 10, elems: 4, strs: 5, nums: 3}
	if p.last != want {
		t.Fatalf("after %s the parser counted %+v; want %+v", shape, p.last, want)
	}
	// One allocation per kind: objects, members, elements, boxed arrays,
	// strings and numbers, and the copy of the text.
	data := []byte(shape)
	if n := testing.AllocsPerRun(100, func() { p.parse(data, nil) }); n > 7 {
		t.Errorf("parsing a text of the last one's shape made %v allocations; want at most 7", n)
	}

	big := "[" + strings.Repeat(`{"k":"v","n":[1,2]},`, 5000) + "{}]"
	if _, err := parseWith(p, big); err != nil {
		t.Fatal(err)
	}
	small := `{"a":[1,2],"b":"x"}`
	p.b = []byte(small)
	p.size()
	s := &p.slab
	for name, got := range map[string]int{"objects": s.objs.Hint, "arrays": s.arrs.Hint, "members": s.mems.Hint,
		"elements": s.elems.Hint, "strings": s.strs.Hint, "numbers": s.nums.Hint} {
		if got > len(small)/2 {
			t.Errorf("after a text of %d bytes, one of %d is given room for %d %s", len(big), len(small), got, name)
		}
	}
	p.reset(false)
	// A text unlike the last one, of the same length: the guesses from
	// the last one must not give it much more memory than its length.
	objects := "[" + strings.Repeat("{},", 30000) + "{}]"
	if _, err := parseWith(p, objects); err != nil {
		t.Fatal(err)
	}
	one := `"` + strings.Repeat("x", len(objects)-2) + `"`
	p.b = []byte(one)
	p.size()
	if got := p.slab.objs.Hint*40 + p.slab.arrs.Hint*24 + p.slab.mems.Hint*32 + p.slab.elems.Hint*16 +
		p.slab.strs.Hint*16 + p.slab.nums.Hint*8; got > 4*len(one)+4<<10 {
		t.Errorf("after %d objects, a string of %d bytes is given room for %d bytes of values", 30001, len(one), got)
	}
	p.reset(false)
	if _, err := parseWith(p, big); err != nil {
		t.Fatal(err)
	}
	p.reset(false)
	if p.last.objs < 5000 {
		t.Errorf("a text that failed replaced what the last good one used: %+v", p.last)
	}
	if _, err := parseWith(p, `{"a":`); err == nil {
		t.Fatal("a cut text parsed")
	}
	if p.last.objs < 5000 || len(p.mstack) != 0 || len(p.estack) != 0 {
		t.Errorf("after a failed parse: last %+v, %d members and %d elements left on the stacks", p.last, len(p.mstack), len(p.estack))
	}
}

// A Parser keeps its memory for texts of the last one's size, but a short
// text after a long one gets memory of its own size: its values, which
// may be kept, do not hold on to the long text's memory.
func TestParserKeepsWhatTheTextNeeds(t *testing.T) {
	var p Parser
	medium := []byte(`{"id":1,"user":{"name":"Ada","roles":["a","b"]},"items":[{"sku":"x","qty":2.5},{"sku":"y","qty":3}],"tags":[]}`)
	for range 3 {
		if _, err := p.Parse(medium); err != nil {
			t.Fatal(err)
		}
	}
	kept := p.mem.held()
	if _, err := p.Parse(medium); err != nil || p.mem.held() != kept {
		t.Fatalf("a text like the last one: memory %d, then %d (%v)", kept, p.mem.held(), err)
	}
	long := []byte("[" + strings.Repeat(`{"k":"value","n":[1,2,3]},`, 3000) + "0]")
	if _, err := p.Parse(long); err != nil {
		t.Fatal(err)
	}
	if h := p.mem.held(); h < 3000*int(unsafe.Sizeof(Object{})) {
		t.Fatalf("the long text's values take %d bytes", h)
	}
	short := []byte(`{"a":"b"}`)
	if _, err := p.Parse(short); err != nil {
		t.Fatal(err)
	}
	most := hintBudget*len(short) + hintSlack + len(short)
	if h := p.mem.held(); h > most {
		t.Errorf("after a long text, a short one's values hold %d bytes; want at most %d", h, most)
	}
	if s := cap(p.p.mstack)*int(unsafe.Sizeof(member{})) + cap(p.p.estack)*int(unsafe.Sizeof(any(nil))); s > most {
		t.Errorf("after a long text, the Parser keeps stacks of %d bytes for a short one; want at most %d", s, most)
	}
}
