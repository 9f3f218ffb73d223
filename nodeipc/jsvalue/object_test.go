package jsvalue_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"nodeipc.dev/nodeipc/jsvalue"
)

// keys returns o's keys in order.
func keys(o *jsvalue.Object) []string { return slices.Collect(o.Keys()) }

// TestObjectOrder checks JavaScript's order: array indices ascending
// first, then the other keys in insertion order; an existing key keeps its
// place. The expected orders are what Node prints for Object.keys of the
// same assignments.
func TestObjectOrder(t *testing.T) {
	tests := []struct {
		set  []string
		want []string
	}{
		{[]string{"b", "a", "c"}, []string{"b", "a", "c"}},
		{[]string{"b", "2", "a", "1"}, []string{"1", "2", "b", "a"}},
		{[]string{"10", "9", "100", "0"}, []string{"0", "9", "10", "100"}},
		// Not array indices: insertion order.
		{[]string{"z", "01", "-1", "1.5", "4294967295", "", " 1"}, []string{"z", "01", "-1", "1.5", "4294967295", "", " 1"}},
		{[]string{"x", "4294967295", "4294967294", "0"}, []string{"0", "4294967294", "x", "4294967295"}},
		// Setting a key again keeps its place.
		{[]string{"a", "b", "a", "3", "b", "3"}, []string{"3", "a", "b"}},
	}
	for _, tt := range tests {
		o := &jsvalue.Object{}
		for i, k := range tt.set {
			o.Set(k, i)
		}
		if got := keys(o); !slices.Equal(got, tt.want) {
			t.Errorf("keys after setting %q = %q; want %q", tt.set, got, tt.want)
		}
		// The value is the last one set.
		for _, k := range tt.set {
			if v, ok := o.Get(k); !ok || v != lastIndex(tt.set, k) {
				t.Errorf("Get(%q) = %v, %v; want %d", k, v, ok, lastIndex(tt.set, k))
			}
		}
	}
}

func lastIndex(s []string, k string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == k {
			return i
		}
	}
	return -1
}

// TestObjectLarge crosses the size at which an Object indexes its keys,
// both ways, and checks look-ups, order and deletes against a model.
func TestObjectLarge(t *testing.T) {
	o := &jsvalue.Object{}
	var model []string // keys in the order they must come
	insert := func(k string) {
		if slices.Contains(model, k) {
			return
		}
		n, isIndex := jsvalue.ArrayIndex(k)
		if !isIndex {
			model = append(model, k)
			return
		}
		at := 0
		for at < len(model) {
			m, ok := jsvalue.ArrayIndex(model[at])
			if !ok || m > n {
				break
			}
			at++
		}
		model = slices.Insert(model, at, k)
	}
	for i := range 60 {
		// Alternate names and indices, indices out of order.
		k := "k" + strconv.Itoa(i)
		if i%3 == 0 {
			k = strconv.Itoa((i * 7919) % 100)
		}
		o.Set(k, i)
		insert(k)
		if got := keys(o); !slices.Equal(got, model) {
			t.Fatalf("after Set(%q): keys %q; want %q", k, got, model)
		}
	}
	for i, k := range model {
		if _, ok := o.Get(k); !ok {
			t.Fatalf("Get(%q) (key %d) not found", k, i)
		}
	}
	if _, ok := o.Get("nope"); ok {
		t.Fatal("Get found a key never set")
	}
	for len(model) > 0 {
		k := model[len(model)/2]
		o.Delete(k)
		model = slices.DeleteFunc(model, func(s string) bool { return s == k })
		if _, ok := o.Get(k); ok {
			t.Fatalf("Get(%q) after Delete found it", k)
		}
		if got := keys(o); !slices.Equal(got, model) || o.Len() != len(model) {
			t.Fatalf("after Delete(%q): keys %q; want %q", k, got, model)
		}
		// An index added after deletes still goes in its place.
		if len(model) == 10 {
			o.Set("5", "five")
			insert("5")
		}
	}
	o.Delete("absent")
	var nilObj *jsvalue.Object
	if _, ok := nilObj.Get("a"); ok || nilObj.Len() != 0 || len(keys(nilObj)) != 0 {
		t.Error("a nil *Object is not empty")
	}
}

// TestObjectDeepEqual checks that objects with the same keys in the same
// order are reflect.DeepEqual however they were built.
func TestObjectDeepEqual(t *testing.T) {
	a, b := &jsvalue.Object{}, &jsvalue.Object{}
	for i := range 40 {
		a.Set("k"+strconv.Itoa(i), i)
	}
	for i := range 50 {
		b.Set("k"+strconv.Itoa(i), i)
	}
	for i := 40; i < 50; i++ {
		b.Delete("k" + strconv.Itoa(i))
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("equal objects are not DeepEqual")
	}
	b.Delete("k0")
	b.Set("k0", 0)
	if reflect.DeepEqual(a, b) {
		t.Error("objects in different orders are DeepEqual")
	}
}

func TestObjectMaps(t *testing.T) {
	inner := map[string]any{"y": 1, "x": 2}
	m := map[string]any{"b": inner, "10": []any{inner, "s"}, "2": nil, "a": &jsvalue.Map{}}
	o := jsvalue.ObjectFromMap(m)
	if got, want := keys(o), []string{"2", "10", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("ObjectFromMap keys %q; want %q", got, want)
	}
	b, _ := o.Get("b")
	ten, _ := o.Get("10")
	if ib, ok := b.(*jsvalue.Object); !ok || ten.([]any)[0] != ib || !slices.Equal(keys(ib), []string{"x", "y"}) {
		t.Errorf("nested maps: b = %v, 10 = %v; want one shared *Object", b, ten)
	}
	back := o.ToMap()
	if !reflect.DeepEqual(back, m) {
		t.Errorf("ToMap(ObjectFromMap(m)) = %v; want %v", back, m)
	}
	if reflect.ValueOf(back["b"]).Pointer() != reflect.ValueOf(back["10"].([]any)[0]).Pointer() {
		t.Error("ToMap made two maps of one shared object")
	}
	// Cycles.
	c := &jsvalue.Object{}
	c.Set("self", c)
	c.Set("list", []any{c})
	cm := c.ToMap()
	if reflect.ValueOf(cm["self"]).Pointer() != reflect.ValueOf(cm).Pointer() {
		t.Error("ToMap of a cycle is not a cycle")
	}
	co := jsvalue.ObjectFromMap(cm)
	if self, _ := co.Get("self"); self != co {
		t.Error("ObjectFromMap of a cycle is not a cycle")
	}
	if jsvalue.ObjectFromMap(nil) != nil || (*jsvalue.Object)(nil).ToMap() != nil {
		t.Error("nil does not convert to nil")
	}
}

func TestArrayIndex(t *testing.T) {
	for _, tt := range []struct {
		in string
		n  uint32
		ok bool
	}{
		{"0", 0, true}, {"7", 7, true}, {"4294967294", 4294967294, true},
		{"4294967295", 0, false}, {"99999999999", 0, false}, {"07", 0, false}, {"-1", 0, false},
		{"+1", 0, false}, {"1.0", 0, false}, {"", 0, false}, {" 1", 0, false}, {"1e3", 0, false}, {"a", 0, false},
	} {
		if n, ok := jsvalue.ArrayIndex(tt.in); n != tt.n || ok != tt.ok {
			t.Errorf("ArrayIndex(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

// ExampleObject builds an object and reads it back in JavaScript's order.
func ExampleObject() {
	o := &jsvalue.Object{}
	o.Set("name", "ada")
	o.Set("2", "second")
	o.Set("id", 36)
	o.Set("1", "first")
	o.Set("name", "Ada") // keeps its place

	for k, v := range o.All() {
		fmt.Println(k, v)
	}
	text, _ := jsvalue.AppendStringify(nil, o)
	fmt.Println(string(text))
	// Output:
	// 1 first
	// 2 second
	// name Ada
	// id 36
	// {"1":"first","2":"second","name":"Ada","id":36}
}
