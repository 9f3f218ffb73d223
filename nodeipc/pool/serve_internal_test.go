package pool

import "testing"

// TestMethodTimed follows a method through the decisions of where its
// calls start: one slow call is not enough to send it away, two in a row
// are; then each quick call brings it one call closer to inline.
func TestMethodTimed(t *testing.T) {
	var m method
	m.timed(2 * slowCall)
	if n := m.away.Load(); n != 0 {
		t.Fatalf("after one slow call away = %d; want 0", n)
	}
	m.timed(slowCall / 2)
	m.timed(2 * slowCall)
	if n := m.away.Load(); n != 0 {
		t.Fatalf("after slow, quick, slow away = %d; want 0", n)
	}
	m.timed(2 * slowCall)
	if n := m.away.Load(); n != awayCalls {
		t.Fatalf("after two slow calls in a row away = %d; want %d", n, awayCalls)
	}
	for i := range awayCalls {
		m.timed(0)
		if n, want := m.away.Load(), int32(awayCalls-1-i); n != want {
			t.Fatalf("after %d quick calls away = %d; want %d", i+1, n, want)
		}
	}
	m.timed(0)
	if n := m.away.Load(); n != 0 {
		t.Fatalf("away = %d after it reached 0; want 0", n)
	}
}
