package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// The request/response envelope shared by Serve and Pool is workerpool's
// process-worker envelope; PROTOCOL.md §10 describes it. These are its
// reserved words.
const (
	wpReady     = "ready"
	wpTerminate = "__workerpool-terminate__"
	wpCleanup   = "__workerpool-cleanup__"
)

// CallError is an error raised by a worker's method: a JavaScript Error
// thrown by a Node worker, or an error returned by a Go Handler. It travels
// as the JavaScript error's own properties (name, message, stack and any
// others, such as code), so the Node side of every supported pool rebuilds
// it as a real Error, and a Go pool gets it back as a *CallError.
//
// A Handler may return a *CallError (or an error wrapping one) to choose the
// name and extra properties the caller sees; any other error is sent as
// {name: "Error", message: err.Error()}.
type CallError struct {
	// Name is the JavaScript error's name: "Error", "TypeError", ...
	Name string
	// Message is the error's message.
	Message string
	// Stack is the JavaScript stack, if the worker sent one.
	Stack string
	// Data holds the error's other properties (for example code), in
	// their order, as JavaScript values (see package jsvalue); nil if there
	// are none. With advanced serialization they may be any value V8 sends
	// (a BigInt code, a Map of details, ...).
	Data *jsvalue.Object
}

var _ error = (*CallError)(nil)

// Error returns "name: message".
func (e *CallError) Error() string {
	name := e.Name
	if name == "" {
		name = "Error"
	}
	return name + ": " + e.Message
}

// object returns the error as the flat object workerpool's worker sends:
// {name, message, stack, ...Data}, with a stack made up if it has none.
func (e *CallError) object() *jsvalue.Object {
	o := &jsvalue.Object{}
	o.Grow(3 + e.Data.Len())
	name := e.Name
	if name == "" {
		name = "Error"
	}
	stack := e.Stack
	if stack == "" {
		stack = name + ": " + e.Message + "\n    at <go worker>"
	}
	o.Set("name", name)
	o.Set("message", e.Message)
	o.Set("stack", stack)
	for k, v := range e.Data.All() {
		if _, taken := o.Get(k); !taken {
			o.Set(k, v)
		}
	}
	return o
}

// MarshalJSON encodes the error as one flat object, as workerpool's worker
// does: {"name","message","stack", ...Data}.
func (e *CallError) MarshalJSON() ([]byte, error) { return jsvalue.AppendStringify(nil, e.object()) }

// UnmarshalJSON decodes a flat error object; properties other than name,
// message and stack go to Data. A JSON string is taken as the message.
func (e *CallError) UnmarshalJSON(b []byte) error {
	v, err := jsvalue.ParseJSON(b)
	if err != nil {
		return err
	}
	*e = *callErrorOf(v)
	return nil
}

// callErrorOf makes a *CallError of the error a worker sent: a flat
// object (properties other than name, message and stack go to Data), an
// Error (advanced serialization), or anything else, taken as the message.
func callErrorOf(v any) *CallError {
	switch x := v.(type) {
	case *jsvalue.Object:
		e := &CallError{}
		str := func(k string) string {
			s, _ := x.Get(k)
			str, _ := s.(string)
			return str
		}
		e.Name, e.Message, e.Stack = str("name"), str("message"), str("stack")
		for k, v := range x.All() {
			switch k {
			case "name", "message", "stack":
			default:
				if e.Data == nil {
					e.Data = &jsvalue.Object{}
				}
				e.Data.Set(k, v)
			}
		}
		if e.Name == "" {
			e.Name = nameFromStack(e.Stack, e.Message)
		}
		return e
	case *jsvalue.Error:
		e := &CallError{Name: x.Name, Message: x.Message, Stack: x.Stack}
		if x.HasCause || x.Cause != nil {
			e.Data = &jsvalue.Object{}
			e.Data.Set("cause", x.Cause)
		}
		return e
	case string:
		return &CallError{Name: "Error", Message: x}
	}
	text, _ := jsvalue.AppendJSON(nil, v)
	return &CallError{Name: "Error", Message: string(text)}
}

// nameFromStack recovers an error's name from its stack when the name
// was not sent: workerpool's worker serializes only own properties, and
// name lives on the prototype. V8 stacks start with "Name: message".
func nameFromStack(stack, message string) string {
	first, _, _ := strings.Cut(stack, "\n")
	name, rest, ok := strings.Cut(first, ":")
	if !ok {
		name, rest = first, ""
	}
	if name != "" && strings.TrimSpace(rest) == strings.TrimSpace(message) && isIdent(name) {
		return name
	}
	return "Error"
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// toCallError turns a handler's error into the error sent on the wire.
func toCallError(err error) *CallError {
	var ce *CallError
	if !errors.As(err, &ce) || ce == nil {
		return &CallError{Name: "Error", Message: err.Error()}
	}
	if ce.Name == "" {
		c := *ce
		c.Name = "Error"
		return &c
	}
	return ce
}

// Event is a progress event a worker emitted while serving a call
// (workerpool's {id, isEvent: true, payload}).
type Event struct {
	payload value
}

// Decode decodes the event's payload into v, a non-nil pointer. An *any
// gets the JavaScript value model of package jsvalue (objects keep their
// key order; with advanced serialization, Maps, BigInts, Dates... as they
// were sent); other types follow encoding/json's rules on a json channel
// and package v8's on an advanced one.
func (e Event) Decode(v any) error { return e.payload.decode(v) }

// String returns the payload as JSON text (with advanced serialization its
// JSON view, see jsvalue.AppendJSON).
func (e Event) String() string { return e.payload.String() }

// MarshalJSON returns the payload as JSON text (null if there is none;
// with advanced serialization its JSON view), so an Event can be forwarded
// as JSON and rebuilt with UnmarshalJSON.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.payload.null() {
		return []byte("null"), nil
	}
	if !e.payload.js {
		return append([]byte(nil), e.payload.raw...), nil
	}
	return jsvalue.AppendJSON(nil, e.payload.v)
}

// UnmarshalJSON makes b, which must be valid JSON, the event's payload.
func (e *Event) UnmarshalJSON(b []byte) error {
	if jsontext.Check(b) != nil {
		return fmt.Errorf("pool: %w: an event payload is not valid JSON", nodeipc.ErrInvalidMessage)
	}
	e.payload = jsonValue(append(json.RawMessage(nil), b...))
	return nil
}

// messageJSON returns m as JSON text whatever the channel's serialization:
// the bytes themselves in json mode, the decoded value re-encoded otherwise.
func messageJSON(m *nodeipc.Message) (json.RawMessage, error) {
	if m.Serialization() == nodeipc.JSON {
		return m.Raw(), nil
	}
	var v any
	if err := m.Decode(&v); err != nil {
		return nil, err
	}
	return jsontext.Marshal(v)
}

// sendValue sends v, which may contain json.RawMessage fields, on ch in the
// channel's serialization: on an advanced channel through JSON, so that
// the raw fields are JSON values there too (the dialects that speak JSON
// only; the workerpool envelope sends values as they are, see values.go).
func sendValue(ctx context.Context, ch *nodeipc.Channel, v any) error {
	if ch.Serialization() == nodeipc.JSON {
		return ch.Send(ctx, v)
	}
	b, err := jsontext.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %v", nodeipc.ErrInvalidMessage, err)
	}
	x, err := jsvalue.ParseJSON(b)
	if err != nil {
		return err
	}
	return ch.Send(ctx, x)
}

// jsonKind returns the first byte of a JSON text: '{', '[', '"', ...
func jsonKind(b []byte) byte {
	b = jsontext.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// isNull reports whether b is JSON null, or absent.
func isNull(b json.RawMessage) bool {
	b = jsontext.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

func sortedNames(m map[string]Handler) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// quote returns s as a JSON string.
func quote(s string) string { return string(jsontext.AppendString(nil, s)) }

// runReusing runs f on an idle goroutine waiting on tasks, or starts one
// (counted in wg) that runs f and then takes one task after another until
// stop is closed. Keeping the goroutines keeps the stacks that handlers and
// the JSON encoder grew, instead of growing new ones for every call.
func runReusing(tasks chan func(), wg *sync.WaitGroup, stop <-chan struct{}, f func()) {
	select {
	case tasks <- f:
		return
	default:
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f()
			select {
			case f = <-tasks:
			case <-stop:
				return
			}
		}
	}()
}
