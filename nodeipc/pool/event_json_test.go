package pool_test

import (
	"encoding/json"
	"errors"
	"testing"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/pool"
)

// An Event travels as its payload's JSON and comes back the same.
func TestEventJSONRoundTrip(t *testing.T) {
	for _, payload := range []string{`{"done":3,"of":10}`, `"text"`, `[1,2,3]`, `null`, `12.5`} {
		var ev pool.Event
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatalf("Unmarshal(%s): %v", payload, err)
		}
		if ev.String() != payload {
			t.Errorf("Unmarshal(%s).String() = %s", payload, ev.String())
		}
		b, err := json.Marshal(struct{ E pool.Event }{ev})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"E":` + payload + `}`; string(b) != want {
			t.Errorf("Marshal = %s; want %s", b, want)
		}
	}
	var zero pool.Event
	if b, err := json.Marshal(zero); err != nil || string(b) != "null" {
		t.Errorf("Marshal(Event{}) = %s, %v; want null", b, err)
	}
	if err := zero.UnmarshalJSON([]byte(`{"a":`)); !errors.Is(err, nodeipc.ErrInvalidMessage) {
		t.Errorf("UnmarshalJSON(invalid) = %v; want ErrInvalidMessage", err)
	}
}
