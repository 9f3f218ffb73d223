// Package jsvalue is the Go model of JavaScript values: the types that
// stand for what Node sends and Go has no natural type for (a JavaScript
// object with its key order, undefined, Map, Set, typed arrays, ...), and
// their JSON text: JSON.parse and JSON.stringify of that model, and the
// JSON view that writes any such value as JSON and reads it back.
//
// # JavaScript values in Go
//
// Decoding a value into an any (nodeipc's Message.Decode in either
// serialization, v8.Unmarshal, ParseJSON, FromJSON) gives:
//
//   - undefined: Undefined{}; null: nil; a boolean: bool
//   - a number: float64 (integers too; -0 and NaN are kept); a BigInt:
//     *big.Int
//   - a string: string, in UTF-8, with a lone UTF-16 surrogate in WTF-8
//     form (the three bytes UTF-8 would give it), so that it survives a
//     round trip
//   - a plain object: *Object, with its keys in the order JavaScript gives
//     them (see below)
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
// JSON text gives only null, booleans, numbers, strings, objects and
// arrays; the rest come with advanced (V8) serialization. Encoding takes the same types, and ordinary Go values
// too (numbers of any Go type, structs with encoding/json's field tags,
// maps with string or integer keys, slices). The wire format and the
// remaining details are in package v8 and in nodeipc's PROTOCOL.md.
//
// # Key order
//
// A JavaScript object keeps its keys in an order programs can see
// (Object.keys, for...in, JSON.stringify): array indices ascending, then
// the other keys in the order they were added. A Go map has no order, so a
// program that decoded objects into maps and sent them on would reorder
// every object it passed along. That is why an any gets an *Object,
// everywhere in this module: decoded and encoded again, a value is what it
// was to JavaScript, key order included. Object is as convenient as a map
// for what Go code does with one (Get, Set, All); a program that wants Go
// maps asks for them: decoding into a map[string]any gives maps throughout,
// as encoding/json does, and Object.ToMap converts one.
//
// # JSON text
//
// ParseJSON reads JSON text as JSON.parse does, into the values above;
// AppendStringify writes them as JSON.stringify does, keys in their order.
// DecodeJSON decodes into any Go target: the values above for an any,
// encoding/json's rules for other types. They are what nodeipc's json
// serialization uses. A Parser parses like ParseJSON into memory it reuses
// for the next text, for programs that are done with each value before
// they parse the next.
//
// AppendJSON writes any of these values as one line of JSON, where JSON can
// say it as JSON and otherwise as an object tagged with a "$js" key, such
// as {"$js":"Map","entries":[[1,"a"]]}: the JSON view. FromJSON reads the
// text back into the same values. This is how a program that speaks JSON
// lines can handle advanced-mode messages.
package jsvalue
