// Package shape defines the messages of the nodeipc benchmark suite and the
// small plan/result protocol between the driver and the parent programs.
//
// The Go types decode the messages the Node halves send
// (interop/testdata/bench) and encode back to exactly the bytes Node would
// write, so a Go peer can be swapped for a Node peer without the other end
// noticing.
package shape

import (
	"encoding/json"
	"strings"
)

// Msg is the envelope of the ping, small and large shapes and of the control
// messages a parent sends to its child. Shape and N are set only on control
// messages and are omitted otherwise, so a decoded ping re-encodes to the
// bytes it arrived as.
type Msg struct {
	ID      int    `json:"id"`
	Op      string `json:"op"`
	Payload string `json:"payload"`
	Shape   string `json:"shape,omitempty"`
	N       int    `json:"n,omitempty"`
}

// Stats is a child's answer to {"op":"stats"}: its own CPU time and peak
// RSS, as getrusage(RUSAGE_SELF) (Go) or process.cpuUsage() (Node) see them.
type Stats struct {
	Op     string `json:"op"`
	CPUus  int64  `json:"cpu_us"`
	RSSkiB int64  `json:"rss_kib"`
}

// Medium is the ~1 KB nested object (978 bytes of JSON).
type Medium struct {
	ID    int      `json:"id"`
	Op    string   `json:"op"`
	User  User     `json:"user"`
	Items []Item   `json:"items"`
	Tags  []string `json:"tags"`
	Meta  Meta     `json:"meta"`
}

// User is part of Medium.
type User struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Active  bool     `json:"active"`
	Roles   []string `json:"roles"`
	Address Address  `json:"address"`
}

// Address is part of Medium.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
}

// Item is part of Medium.
type Item struct {
	SKU   string   `json:"sku"`
	Name  string   `json:"name"`
	Qty   int      `json:"qty"`
	Price float64  `json:"price"`
	Attrs []string `json:"attrs"`
}

// Meta is part of Medium.
type Meta struct {
	Trace   string  `json:"trace"`
	Created string  `json:"created"`
	Retries int     `json:"retries"`
	Score   float64 `json:"score"`
	Source  string  `json:"source"`
}

// Shape names.
const (
	Ping       = "ping"   // {"id":1,"op":"echo","payload":"x"}: 34 bytes of JSON
	Small      = "small"  // 53 bytes of JSON
	MediumName = "medium" // a nested object, 978 bytes of JSON
	Large      = "large"  // the envelope around a 1 MiB string
)

// Sizes are the shapes one-way throughput is measured for, in order.
var Sizes = []string{Small, MediumName, Large}

// NewPing returns the ping message used for round trips.
func NewPing(id int) Msg { return Msg{ID: id, Op: "echo", Payload: "x"} }

// NewSmall returns the small message.
func NewSmall() Msg { return Msg{ID: 1, Op: "echo", Payload: strings.Repeat("x", 20)} }

// NewLarge returns the large message: the envelope around a 1 MiB string.
func NewLarge() Msg { return Msg{ID: 1, Op: "echo", Payload: strings.Repeat("x", 1<<20)} }

// NewMedium returns the medium message.
func NewMedium() Medium {
	items := make([]Item, 4)
	for i := range items {
		items[i] = Item{
			SKU:   "SKU-" + strings.Repeat(string(rune('A'+i)), 6),
			Name:  "Widget number " + string(rune('1'+i)) + " deluxe edition",
			Qty:   i + 1,
			Price: 12.5 * float64(i+1),
			Attrs: []string{"color:blue", "size:m", "stock:yes"},
		}
	}
	return Medium{
		ID: 1,
		Op: "echo",
		User: User{
			ID:     4242,
			Name:   "Ada Lovelace",
			Email:  "ada@example.com",
			Active: true,
			Roles:  []string{"admin", "editor", "viewer"},
			Address: Address{
				Street:  "12 Analytical Engine Road",
				City:    "London",
				Zip:     "NW1 6XE",
				Country: "GB",
			},
		},
		Items: items,
		Tags:  []string{"priority", "express", "gift", "fragile", "insured"},
		Meta: Meta{
			Trace:   "0af7651916cd43dd8448eb211c80319c",
			Created: "2026-11-27T12:00:00.000Z",
			Retries: 2,
			Score:   0.875,
			Source:  "benchmark-suite/medium-shape/nested-object-example1",
		},
	}
}

// Value returns the message of the named shape as a Go value to send, or
// nil for an unknown name.
func Value(name string) any {
	switch name {
	case Ping:
		m := NewPing(1)
		return &m
	case Small:
		m := NewSmall()
		return &m
	case MediumName:
		m := NewMedium()
		return &m
	case Large:
		m := NewLarge()
		return &m
	}
	return nil
}

// JSON returns the JSON text of the named shape, as JSON.stringify writes it.
func JSON(name string) []byte {
	v := Value(name)
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// EnvMedium is the environment variable through which the driver hands the
// medium shape's JSON text to the Node halves, so every peer sends the same
// bytes.
const EnvMedium = "NODEIPC_BENCH_MEDIUM"

// Plan is what the driver asks one parent program
// (interop/testdata/bench/parent.js, the Go peer's parent mode or its raw
// mode) to do: start Child, report the start-up time, then run Tests in
// order, printing one Result per line on stdout. With Interactive set it
// then reads more tests from stdin, one JSON Test per line, answering each
// with its Result, until stdin ends; this lets the driver interleave the
// configurations test by test.
type Plan struct {
	Serialization string `json:"serialization"`
	Child         Child  `json:"child"`
	Tests         []Test `json:"tests,omitempty"`
	Interactive   bool   `json:"interactive,omitempty"`
}

// Child says which child program the parent starts.
type Child struct {
	// Kind is "node" (Path is the node binary, Script the child script) or
	// "go" (Path is the Go peer binary, Args its arguments).
	Kind   string   `json:"kind"`
	Path   string   `json:"path"`
	Script string   `json:"script,omitempty"`
	Args   []string `json:"args,omitempty"`
}

// Test kinds.
const (
	KindStartup  = "startup"  // reported once the child's first message arrived
	KindLatency  = "latency"  // N ping round trips, one at a time
	KindC2P      = "c2p"      // the child sends N messages of Shape
	KindP2C      = "p2c"      // the parent sends N messages of Shape
	KindPipeline = "pipeline" // N pings with Window in flight
	KindMem      = "mem"      // the child's peak RSS so far (VmHWM)
)

// Test is one measurement of a plan.
type Test struct {
	Kind   string `json:"kind"`
	Shape  string `json:"shape,omitempty"`
	N      int    `json:"n,omitempty"`
	Window int    `json:"window,omitempty"`
	// Warmup marks a run that is made and then discarded, so that the
	// next one measures the steady state. The peers never see it.
	Warmup bool `json:"-"`
}

// Result is one measurement, as a parent program reports it. Only the fields
// of its kind are set.
type Result struct {
	Kind  string `json:"kind"`
	Shape string `json:"shape,omitempty"`
	N     int    `json:"n,omitempty"`
	// Seconds is the wall time of the test; Rate is N/Seconds.
	Seconds float64 `json:"seconds,omitempty"`
	Rate    float64 `json:"rate,omitempty"`
	// MedianUs and P99Us are round-trip times (latency).
	MedianUs float64 `json:"median_us,omitempty"`
	P99Us    float64 `json:"p99_us,omitempty"`
	// ChildCPUUs and ParentCPUUs are CPU time (user+system) per round trip
	// (latency), in microseconds.
	ChildCPUUs  float64 `json:"child_cpu_us,omitempty"`
	ParentCPUUs float64 `json:"parent_cpu_us,omitempty"`
	// ParentUtil and ChildUtil are the CPU time each side used during a
	// throughput test divided by its wall time: 1.0 is one core kept busy.
	// The side near 1.0 is the bottleneck.
	ParentUtil float64 `json:"parent_util,omitempty"`
	ChildUtil  float64 `json:"child_util,omitempty"`
	// StartupMs is the time from starting the child to its first message.
	StartupMs float64 `json:"startup_ms,omitempty"`
	// VmHWMKiB is the child's peak RSS from /proc/PID/status.
	VmHWMKiB int64 `json:"vmhwm_kib,omitempty"`
	// Error, when set, says why the test could not run.
	Error string `json:"error,omitempty"`
}
