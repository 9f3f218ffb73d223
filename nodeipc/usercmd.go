package nodeipc

import (
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"nodeipc.dev/internal/jsontext"
	"nodeipc.dev/nodeipc/jsvalue"
)

// Send refuses user messages that a Node peer would treat as internal (a
// top-level "cmd" starting with "NODE_"). Scanning every encoded frame for
// that costs a pass over the bytes (a fifth of the CPU of sending 1 MiB
// messages), so mayBeInternal first rules it out from v's type where it can.

var (
	// typeCmds caches typeMayBeInternal per dynamic type, and lastTypeCmd
	// the last answer, so a sender of one type pays one comparison.
	typeCmds    sync.Map // reflect.Type -> *typeCmd
	lastTypeCmd atomic.Pointer[typeCmd]
)

// typeCmd is a cached answer of typeMayBeInternal.
type typeCmd struct {
	t   reflect.Type
	may bool
}

// mayBeInternal reports whether v could encode as an object with a
// top-level "cmd" string starting with "NODE_". It errs on the side of yes;
// the caller then checks the encoded frame.
func mayBeInternal(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, float64, int, int64, []any, []byte:
		return false
	case map[string]any:
		s, ok := x["cmd"].(string)
		return ok && strings.HasPrefix(s, "NODE_")
	case map[string]string:
		return strings.HasPrefix(x["cmd"], "NODE_")
	case *jsvalue.Object:
		cmd, _ := x.Get("cmd")
		s, ok := cmd.(string)
		return ok && strings.HasPrefix(s, "NODE_")
	case *Message:
		return true // forwarded bytes: check them
	}
	t := reflect.TypeOf(v)
	if e := lastTypeCmd.Load(); e != nil && e.t == t {
		return e.may
	}
	var e *typeCmd
	if x, ok := typeCmds.Load(t); ok {
		e = x.(*typeCmd)
	} else {
		e = &typeCmd{t: t, may: typeMayBeInternal(t)}
		typeCmds.Store(t, e)
	}
	lastTypeCmd.Store(e)
	return e.may
}

// typeMayBeInternal is mayBeInternal for the values of type t.
func typeMayBeInternal(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsontext.MarshalerType) || t.Implements(jsontext.TextMarshalerType) {
			return true
		}
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return structMayHaveCmd(t)
	case reflect.Map, reflect.Interface:
		return true
	default:
		// Numbers, strings, slices and arrays never encode as an object,
		// unless a method says otherwise.
		return t.Implements(jsontext.MarshalerType) || reflect.PointerTo(t).Implements(jsontext.MarshalerType)
	}
}

// structMayHaveCmd reports whether struct type t's encoding could have a
// top-level "cmd" key: a field named so (the decoder folds case, so any
// spelling counts), an embedded field (its fields are promoted), or a method
// that writes the JSON itself.
func structMayHaveCmd(t reflect.Type) bool {
	if t.Implements(jsontext.MarshalerType) || reflect.PointerTo(t).Implements(jsontext.MarshalerType) ||
		t.Implements(jsontext.TextMarshalerType) || reflect.PointerTo(t).Implements(jsontext.TextMarshalerType) {
		return true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return true
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, "cmd") {
			return true
		}
	}
	return false
}
