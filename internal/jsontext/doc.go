// Package jsontext is the module's JSON layer: JSON text written and read
// the way JavaScript's JSON.stringify and JSON.parse do, for the channel's
// json serialization, the JSON view of JavaScript values and the pool
// envelopes.
//
//   - Append and Encoder encode Go values as JSON.stringify would write them
//     (NaN and ±Inf as null), fast, with encoding/json's rules for Go types.
//     Marshal and Unmarshal are encoding/json's rules on the same library.
//     This package is the only importer of github.com/goccy/go-json.
//   - Scan and Check validate JSON text in one pass, the way JSON.parse
//     would accept it. SkipSpace, ScanString, ScanNumber, ParseNumber and
//     AppendUnquoted are the same pieces for hand-written decoders (the
//     JSON.parse of package jsvalue is one).
//   - AppendString is the one JSON string escaper; its doc comment is the
//     rule for strings that are not valid UTF-8.
package jsontext
