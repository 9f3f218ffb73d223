// Package v8 reads and writes V8's ValueSerializer format the way Node.js
// uses it: what Node's v8.serialize() writes and v8.deserialize() reads,
// and what a child_process channel with advanced serialization carries,
// including Node's host objects for Buffers and typed arrays.
//
// Marshal, Append and Unmarshal work like their encoding/json
// counterparts. The JavaScript values that Go has no type for (undefined,
// Map, Set, Error, typed arrays...) are the types of package jsvalue, whose
// documentation lists what decoding into an any gives. Other Go values
// encode as encoding/json would shape them:
//
//   - nil and nil pointers, maps, slices and interfaces: null
//   - bool and string: boolean and string (a lone surrogate held as WTF-8
//     is sent as that surrogate; other invalid UTF-8 bytes as U+FFFD)
//   - integers and floats: a number; an integer a double cannot hold
//     exactly is an error (send a *big.Int for a BigInt)
//   - *big.Int: BigInt; time.Time: Date (milliseconds)
//   - maps with string or integer keys, and structs (with encoding/json's
//     field tags): objects; []any and other slices and arrays: arrays;
//     []byte: Buffer; []int8 ... []uint64: the matching typed arrays
//   - a pointer: the value it points to, shared when met again, so shared
//     and cyclic values keep their shape
//
// Decoding into typed Go values converts where JavaScript's value fits the
// Go type (an integral number into an int, a Set into a slice, a Map into a
// Go map) and is an error otherwise. Marshal refuses what Node could not
// read or would crash on (functions, channels, a Float16Array, values
// nested deeper than 1,000 levels, ...). The exact rules are in section 3
// of nodeipc's PROTOCOL.md.
//
// AppendStringProperty reads one string property of a serialized object
// without decoding the rest.
package v8
