package nodeipc

import "errors"

// Placeholders until the V8 codec lands.
const advancedSupported = false

func appendV8(dst []byte, v any) ([]byte, error)  { return dst, errors.ErrUnsupported }
func decodeV8(payload []byte, v any) error        { return errors.ErrUnsupported }
func v8InternalCmd(payload []byte) (string, bool) { return "", false }
