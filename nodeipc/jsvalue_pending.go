package nodeipc

import "fmt"

// Placeholder until the JavaScript-semantics encoder lands.
func appendJSJSON(dst []byte, v any) ([]byte, error) {
	return dst, fmt.Errorf("%w: NaN or Infinity", ErrInvalidMessage)
}
