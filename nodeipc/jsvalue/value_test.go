package jsvalue_test

import (
	"math"
	"math/big"
	"testing"
	"time"

	"nodeipc.dev/nodeipc/jsvalue"
)

func TestMapSetSameValueZero(t *testing.T) {
	k := map[string]any{}
	m := &jsvalue.Map{}
	m.Set(math.NaN(), 1)
	m.Set(k, 2)
	m.Set(big.NewInt(3), 3)
	m.Set(math.NaN(), 4)
	m.Set(big.NewInt(3), 5)
	if m.Len() != 3 {
		t.Fatalf("Len = %d; want 3", m.Len())
	}
	if v, ok := m.Get(math.NaN()); !ok || v != 4 {
		t.Errorf("Get(NaN) = %v, %v", v, ok)
	}
	if v, ok := m.Get(k); !ok || v != 2 {
		t.Errorf("Get(k) = %v, %v", v, ok)
	}
	if _, ok := m.Get(map[string]any{}); ok {
		t.Error("Get found a different map")
	}
	if v, _ := m.Get(big.NewInt(3)); v != 5 {
		t.Errorf("Get(3n) = %v", v)
	}
	decoded := &jsvalue.Map{Entries: []jsvalue.MapEntry{{Key: 1.0, Value: "a"}}} // as decoding gives it
	if v, ok := decoded.Get(1); !ok || v != "a" {
		t.Errorf("Get(1) on a decoded Map = %v, %v", v, ok)
	}
	if _, ok := decoded.Get("1"); ok {
		t.Error(`Get("1") found the number 1`)
	}
	s := &jsvalue.Set{}
	s.Add("a")
	s.Add("a")
	s.Add(time.Time{})
	s.Add(time.Time{})
	if s.Len() != 3 || !s.Has("a") || s.Has("b") {
		t.Errorf("Set = %v", s.Values)
	}
	if got := (jsvalue.RegExp{Source: "a", Flags: "g"}).String(); got != "/a/g" {
		t.Errorf("RegExp.String = %q", got)
	}
	if got := (&jsvalue.Error{}).Error(); got != "Error" {
		t.Errorf("Error.Error = %q", got)
	}
}
