// Package jsvalue is the Go model of JavaScript values: the types that
// stand for what Node sends with advanced (V8) serialization and Go has no
// natural type for, and the JSON view that writes any such value as JSON
// text and reads it back.
//
// # JavaScript values in Go
//
// Decoding a value into an any (nodeipc's Message.Decode in advanced mode,
// or v8.Unmarshal) gives:
//
//   - undefined: Undefined{}; null: nil; a boolean: bool
//   - a number: float64 (integers too; -0 and NaN are kept); a BigInt:
//     *big.Int
//   - a string: string, in UTF-8, with a lone UTF-16 surrogate in WTF-8
//     form (the three bytes UTF-8 would give it), so that it survives a
//     round trip
//   - a plain object: map[string]any (numeric keys in their JavaScript
//     string form)
//   - an array: []any, with Hole{} for a missing element; an array with
//     named properties, or a sparse array too long to expand: *Array
//   - a Date: time.Time (UTC, millisecond precision), or InvalidDate{}
//   - a RegExp: RegExp; a Map: *Map; a Set: *Set; an Error: *Error
//   - new Boolean(b), new Number(n), new String(s), Object(n) for a BigInt:
//     Boxed
//   - a Buffer: Buffer; a Uint8Array, Uint8ClampedArray or DataView:
//     Uint8Array, Uint8ClampedArray or DataView; an ArrayBuffer: ArrayBuffer,
//     or ResizableArrayBuffer for a resizable one
//   - Int8Array to BigUint64Array: []int8, []int16, []uint16, []int32,
//     []uint32, []float32, []float64, []int64, []uint64; a Float16Array:
//     Float16Array (read only)
//   - an object met twice (shared, or a cycle): the same Go map, slice or
//     pointer each time
//
// Encoding takes the same types, and ordinary Go values too (numbers of any
// Go type, structs with encoding/json's field tags, maps with string or
// integer keys, slices). The wire format and the remaining details are in
// package v8 and in nodeipc's PROTOCOL.md.
//
// # JSON view
//
// AppendJSON writes such a value as one line of JSON, where JSON can say it
// as JSON and otherwise as an object tagged with a "$js" key, such as
// {"$js":"Map","entries":[[1,"a"]]}; FromJSON reads the text back into the
// same values. This is how a program that speaks JSON lines can handle
// advanced-mode messages.
package jsvalue
