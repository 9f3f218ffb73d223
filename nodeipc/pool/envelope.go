package pool

import (
	"encoding/json"
	"strconv"
	"strings"

	"nodeipc.dev/internal/jsontext"
)

// envelope is every object message of the workerpool dialect, decoded
// loosely: which fields are present decides what it is.
type envelope struct {
	ID      json.RawMessage   `json:"id,omitempty"`
	Method  *string           `json:"method,omitempty"`
	Params  []json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage   `json:"result,omitempty"`
	Error   json.RawMessage   `json:"error,omitempty"`
	IsEvent bool              `json:"isEvent,omitempty"`
	Payload json.RawMessage   `json:"payload,omitempty"`
}

// decodeEnvelope decodes the JSON object b into env. The messages of the
// workerpool dialect have a handful of plain keys, so it first tries a
// scanner that needs no reflection and slices b instead of copying it (b
// must stay unchanged while env is used; a received message's bytes do);
// anything that scanner does not take on (escaped or differently cased
// keys, an escaped method name, malformed text) goes to the JSON decoder,
// so the result is the decoder's in every case.
func decodeEnvelope(b []byte, env *envelope) error {
	if scanEnvelope(b, env) {
		return nil
	}
	e := new(envelope) // not env: that would make every caller's escape
	err := jsontext.Unmarshal(b, e)
	*env = *e
	return err
}

// envelopeKeys are the keys of envelope, which the decoder would also
// match case-insensitively.
var envelopeKeys = [...]string{"id", "method", "params", "result", "error", "isEvent", "payload"}

// scanEnvelope is decodeEnvelope's fast path; it reports false when it
// leaves b to the decoder.
func scanEnvelope(b []byte, env *envelope) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		kend := i + 1
		for kend < len(b) && b[kend] != '"' && b[kend] != '\\' {
			kend++
		}
		if kend >= len(b) || b[kend] == '\\' {
			return false
		}
		key := b[i+1 : kend]
		i = skipSpace(b, kend+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		end, ok := skipValue(b, i)
		if !ok {
			return false
		}
		v := b[i:end]
		switch string(key) {
		case "id":
			env.ID = v
		case "method":
			switch {
			case string(v) == "null":
				env.Method = nil
			case v[0] == '"' && !hasByte(v, '\\'):
				m := string(v[1 : len(v)-1])
				env.Method = &m
			default:
				return false
			}
		case "params":
			if !env.scanParams(v) {
				return false
			}
		case "result":
			env.Result = v
		case "error":
			env.Error = v
		case "isEvent":
			switch string(v) {
			case "true":
				env.IsEvent = true
			case "false", "null":
				env.IsEvent = false
			default:
				return false
			}
		case "payload":
			env.Payload = v
		default:
			for _, k := range envelopeKeys {
				if strings.EqualFold(string(key), k) {
					return false
				}
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// scanParams sets env.Params to the elements of the JSON array v (null
// leaves none).
func (env *envelope) scanParams(v []byte) bool {
	if string(v) == "null" {
		env.Params = nil
		return true
	}
	if v[0] != '[' {
		return false
	}
	ps := make([]json.RawMessage, 0, 4)
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		env.Params = []json.RawMessage{}
		return skipSpace(v, i+1) == len(v)
	}
	for {
		end, ok := skipValue(v, i)
		if !ok {
			return false
		}
		ps = append(ps, v[i:end:end])
		i = skipSpace(v, end)
		if i >= len(v) {
			return false
		}
		switch v[i] {
		case ',':
			i = skipSpace(v, i+1)
		case ']':
			env.Params = ps
			return skipSpace(v, i+1) == len(v)
		default:
			return false
		}
	}
}

// skipValue returns the end of the JSON value that starts at b[i]. It
// finds the extent of valid text; it does not validate.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i, i > start
		}
		i++
	}
	return i, i > start
}

// skipString returns the end of the JSON string that starts at b[i].
func skipString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && jsontext.IsSpace(b[i]) {
		i++
	}
	return i
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// parseID decodes a call id: the pool's ids are integers, sent as plain
// JSON numbers and echoed back.
func parseID(raw json.RawMessage, id *int64) error {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		*id = n
		return nil
	}
	return jsontext.Unmarshal(raw, id)
}
