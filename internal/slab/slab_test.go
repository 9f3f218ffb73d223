package slab

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"unsafe"
)

func TestChunk(t *testing.T) {
	var c Chunk[int]
	c.Hint = 4
	a := c.Take(3)
	b := c.Take(1)
	if len(a) != 3 || cap(a) != 3 || len(b) != 1 || cap(b) != 1 || uintptr(unsafe.Pointer(&b[0]))-uintptr(unsafe.Pointer(&a[2])) != unsafe.Sizeof(0) {
		t.Fatalf("runs of one allocation: %d/%d, %d/%d", len(a), cap(a), len(b), cap(b))
	}
	a = append(a, 9) // copies out: b is untouched
	if b[0] != 0 {
		t.Fatalf("appending to a run overwrote the next: %v", b)
	}
	big := c.Take(100)
	if len(big) != 100 {
		t.Fatalf("Take(100) = %d elements", len(big))
	}
	for range 20 {
		c.Take(1000)
	}
	if c.Hint > MaxGrow {
		t.Fatalf("Hint grew to %d", c.Hint)
	}
}

// TestBoxesSurviveGC keeps boxed values from many chunks while the
// collector runs, and checks them.
func TestBoxesSurviveGC(t *testing.T) {
	type kept struct{ s, f, a, raw any }
	var all []kept
	for i := range 5000 {
		var strs Chunk[string]
		var nums Chunk[float64]
		var arrs Chunk[[]any]
		var bytes Chunk[byte]
		s := String(&bytes, []byte(fmt.Sprint("value ", i)))
		k := kept{BoxString(&strs, s), BoxFloat64(&nums, float64(i)+0.5), BoxSlice(&arrs, []any{float64(i)}), BoxFloat64(&nums, float64(i%300))}
		if i%2 == 0 {
			all = append(all, k)
		}
		if i%1000 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	for j, k := range all {
		i := 2 * j
		if k.s != fmt.Sprint("value ", i) || k.f != float64(i)+0.5 || k.a.([]any)[0] != float64(i) || k.raw != float64(i%300) {
			t.Fatalf("value %d = %#v", i, k)
		}
	}
	var nums Chunk[float64]
	if v := BoxFloat64(&nums, math.Copysign(0, -1)); !math.Signbit(v.(float64)) {
		t.Error("-0 boxed as 0")
	}
	if v := BoxFloat64(&nums, math.NaN()); v == v {
		t.Error("NaN boxed as a number equal to itself")
	}
}

// TestRecycle: a chunk that held everything taken hands the same memory
// out again, zeroed; one that had to allocate again starts over.
func TestRecycle(t *testing.T) {
	var c Chunk[int]
	c.Hint = 8
	a := c.Take(5)
	for i := range a {
		a[i] = i + 1
	}
	c.Recycle()
	b := c.Take(5)
	if &b[0] != &a[0] || c.Cap() != 8 {
		t.Fatalf("a recycled chunk allocated anew (Cap %d)", c.Cap())
	}
	for i, x := range b {
		if x != 0 {
			t.Fatalf("recycled element %d = %d, not zeroed", i, x)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { c.Recycle(); c.Take(3); c.Take(5) }); allocs != 0 {
		t.Errorf("recycled Takes within the allocation: %v allocations", allocs)
	}

	c.Recycle()
	c.Take(6)
	c.Take(6) // spills into a second allocation
	c.Recycle()
	if c.Cap() != 0 {
		t.Errorf("a chunk that spilled kept an allocation of %d", c.Cap())
	}
	if d := c.Take(1); &d[0] == &b[0] {
		t.Error("a chunk that spilled kept its first allocation")
	}
}
