package pool

// How the values of calls travel. On a json channel the workerpool
// envelope is JSON text, and its values (parameters, results, errors,
// event payloads) stay JSON text until a Handler or the caller decodes
// them. On an advanced channel the envelope is a V8 object whose values
// are whatever V8 sent (Maps, BigInts, Dates, typed arrays, cycles), and
// they are kept as the decoded JavaScript values (package jsvalue), end to
// end: sent as they are, decoded into the caller's Go types from there.

import (
	"encoding/json"
	"fmt"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
	"nodeipc.dev/nodeipc/v8"
)

// value is one value of a call as it arrived: JSON text on a json channel,
// the decoded JavaScript value on an advanced one.
type value struct {
	raw json.RawMessage // json
	v   any             // advanced
	js  bool            // advanced: v holds it
}

// jsonValue and jsValue make a value of each kind.
func jsonValue(raw json.RawMessage) value { return value{raw: raw} }
func jsValue(v any) value                 { return value{v: v, js: true} }

// null reports whether the value is absent, null or undefined.
func (x value) null() bool {
	if !x.js {
		return isNull(x.raw)
	}
	switch x.v.(type) {
	case nil, jsvalue.Undefined:
		return true
	}
	return false
}

// decode decodes the value into dst, a non-nil pointer: an *any gets the
// JavaScript value model; other types follow encoding/json's rules for
// JSON text and package v8's for a V8 value, except that a
// *json.RawMessage gets JSON text in either case (for a V8 value, as
// JSON.stringify writes it).
func (x value) decode(dst any) error {
	if !x.js {
		if raw, ok := dst.(*json.RawMessage); ok && raw != nil {
			*raw = append((*raw)[:0], x.raw...)
			return nil
		}
		return jsvalue.DecodeJSON(x.raw, dst)
	}
	switch p := dst.(type) {
	case *any:
		if p != nil {
			*p = x.v
			return nil
		}
	case *json.RawMessage:
		if p != nil {
			b, err := jsvalue.AppendStringify((*p)[:0], x.v)
			if err == nil {
				*p = b
			}
			return err
		}
	}
	b, err := v8.Marshal(x.v)
	if err != nil {
		return err
	}
	return v8.Unmarshal(b, dst)
}

// String returns the value as JSON text (the JSON view of a V8 value).
func (x value) String() string {
	if !x.js {
		return string(x.raw)
	}
	b, err := jsvalue.AppendJSON(nil, x.v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// callError returns the *CallError a worker sent.
func (x value) callError() *CallError {
	if !x.js {
		ce := new(CallError)
		if err := ce.UnmarshalJSON(x.raw); err != nil {
			return &CallError{Name: "Error", Message: string(x.raw)}
		}
		return ce
	}
	return callErrorOf(x.v)
}

// jsValues turns the json.RawMessage values among vs into the values they
// stand for, for an advanced channel (a copy; vs is not changed).
func jsValues(vs []any) ([]any, error) {
	out := vs
	for i, p := range vs {
		raw, ok := p.(json.RawMessage)
		if !ok {
			continue
		}
		x, err := jsvalue.ParseJSON(raw)
		if err != nil {
			return nil, err
		}
		if &out[0] == &vs[0] {
			out = append([]any(nil), vs...)
		}
		out[i] = x
	}
	return out, nil
}

// reply is a message of a worker to the pool (PROTOCOL.md §10.2).
type reply struct {
	ready   bool  // the worker's "ready"
	id      int64 // the call it answers
	cleanup bool  // the confirmation of a cleanup (err: whether it failed)
	event   bool  // a progress event (payload)
	result  value
	err     value
	payload value
}

// parseReply reads a message of a worker; ok is false for a message that
// is none of the envelope's.
func parseReply(m *nodeipc.Message) (r reply, ok bool) {
	if m.Serialization() == nodeipc.Advanced {
		return parseJSReply(m)
	}
	raw := m.Raw()
	switch jsonKind(raw) {
	case '"':
		var s string
		jsontext.Unmarshal(raw, &s)
		return reply{ready: s == wpReady}, s == wpReady
	case '{':
	default:
		return r, false
	}
	var env envelope
	if decodeEnvelope(raw, &env) != nil {
		return r, false
	}
	if parseID(env.ID, &r.id) != nil {
		return r, false
	}
	// The values are slices of the message's bytes (see decodeEnvelope),
	// which the caller leaves alone.
	r.cleanup = env.Method != nil && *env.Method == wpCleanup
	r.event = env.IsEvent
	r.err = jsonValue(env.Error)
	r.result = jsonValue(env.Result)
	r.payload = jsonValue(env.Payload)
	return r, true
}

// parseJSReply is parseReply for an advanced channel.
func parseJSReply(m *nodeipc.Message) (r reply, ok bool) {
	var v any
	if m.Decode(&v) != nil {
		return r, false
	}
	switch x := v.(type) {
	case string:
		return reply{ready: x == wpReady}, x == wpReady
	case *jsvalue.Object:
		id, _ := x.Get("id")
		f, isNum := id.(float64)
		if !isNum || f != float64(int64(f)) {
			return r, false
		}
		r.id = int64(f)
		method, _ := x.Get("method")
		r.cleanup = method == wpCleanup
		isEvent, _ := x.Get("isEvent")
		r.event = isEvent == true
		get := func(k string) value { v, _ := x.Get(k); return jsValue(v) }
		r.err, r.result, r.payload = get("error"), get("result"), get("payload")
		return r, true
	}
	return r, false
}

// jsonValues makes values of JSON texts.
func jsonValues(raws []json.RawMessage) []value {
	vs := make([]value, len(raws))
	for i, r := range raws {
		vs[i] = jsonValue(r)
	}
	return vs
}

// jsEnvelope decodes m for workerpoolJS if Serve reads the workerpool
// envelope with V8 values: on an advanced channel, unless the parent is
// known, or seen, to speak another dialect (those speak JSON only).
func (s *server) jsEnvelope(m *nodeipc.Message) (any, bool) {
	if m.Serialization() != nodeipc.Advanced || (s.dialect != "" && s.dialect != DialectWorkerpool) {
		return nil, false
	}
	var v any
	if m.Decode(&v) != nil {
		return nil, false
	}
	switch x := v.(type) {
	case string:
	case *jsvalue.Object:
		if owner, _ := x.Get("owner"); owner == "farm" {
			return nil, false
		}
	default:
		return nil, false
	}
	s.dialect = DialectWorkerpool
	return v, true
}

// workerpoolJS serves the workerpool dialect on an advanced channel: v is
// the decoded message (see jsEnvelope).
func (s *server) workerpoolJS(v any) error {
	o, ok := v.(*jsvalue.Object)
	if !ok {
		if v == wpTerminate {
			return errStop
		}
		return nil
	}
	method, ok := get(o, "method").(string)
	if !ok {
		return nil
	}
	id := get(o, "id")
	key, err := jsvalue.AppendJSON(nil, id)
	if err != nil {
		return nil
	}
	list, _ := get(o, "params").([]any)
	params := make([]value, len(list))
	for i, p := range list {
		params[i] = jsValue(p)
	}
	s.call(id, string(key), method, params)
	return nil
}

// get returns o's property k, or nil.
func get(o *jsvalue.Object, k string) any {
	v, _ := o.Get(k)
	return v
}

// sendEnvelope sends the workerpool message {id, k1: v1, k2: v2} for call
// id: JSON text (id is a json.RawMessage), or on an advanced channel a V8
// object holding the values as they are (a json.RawMessage among them is
// JSON text: it is sent as the value it stands for).
func (s *server) sendEnvelope(id any, k1 string, v1 any, k2 string, v2 any) error {
	if raw, ok := id.(json.RawMessage); ok {
		b := append([]byte(`{"id":`), raw...)
		for _, kv := range [2]struct {
			k string
			v any
		}{{k1, v1}, {k2, v2}} {
			b = append(jsontext.AppendString(append(b, ','), kv.k), ':')
			var err error
			if b, err = jsontext.Append(b, kv.v); err != nil {
				return fmt.Errorf("%w: %w", nodeipc.ErrInvalidMessage, err)
			}
		}
		return s.ch.Send(s.ctx, json.RawMessage(append(b, '}')))
	}
	vs, err := jsValues([]any{v1, v2})
	if err != nil {
		return err
	}
	o := &jsvalue.Object{}
	o.Grow(3)
	o.Set("id", id)
	o.Set(k1, vs[0])
	o.Set(k2, vs[1])
	return s.ch.Send(s.ctx, o)
}
