package v8

// The constants of V8's ValueSerializer format used by advanced
// serialization (see PROTOCOL.md §3).

import "math"

// V8 serialization tags (V8's src/objects/value-serializer.cc).
const (
	v8Version        = 15 // the format version Node writes (FF 0F)
	v8MinVersion     = 13 // the oldest version V8's public API accepts
	tagVersion       = 0xFF
	tagPadding       = 0x00
	tagVerifyCount   = '?'
	tagHole          = '-'
	tagUndefined     = '_'
	tagNull          = '0'
	tagTrue          = 'T'
	tagFalse         = 'F'
	tagInt32         = 'I'
	tagUint32        = 'U'
	tagDouble        = 'N'
	tagBigInt        = 'Z'
	tagUTF8String    = 'S'
	tagOneByteString = '"'
	tagTwoByteString = 'c'
	tagRef           = '^'
	tagBeginObject   = 'o'
	tagEndObject     = '{'
	tagBeginSparse   = 'a'
	tagEndSparse     = '@'
	tagBeginDense    = 'A'
	tagEndDense      = '$'
	tagDate          = 'D'
	tagTrueObject    = 'y'
	tagFalseObject   = 'x'
	tagNumberObject  = 'n'
	tagBigIntObject  = 'z'
	tagStringObject  = 's'
	tagRegExp        = 'R'
	tagBeginMap      = ';'
	tagEndMap        = ':'
	tagBeginSet      = '\''
	tagEndSet        = ','
	tagArrayBuffer   = 'B'
	tagResizableAB   = '~'
	tagView          = 'V'
	tagError         = 'r'
	tagHostObject    = '\\'
)

// Error subtags, written after tagError.
const (
	errEval      = 'E'
	errRange     = 'R'
	errReference = 'F'
	errSyntax    = 'S'
	errType      = 'T'
	errURI       = 'U'
	errMessage   = 'm'
	errCause     = 'c'
	errStack     = 's'
	errEnd       = '.'
)

// Node's host-object layer (lib/internal/child_process/serialization.js and
// lib/v8.js): 5C, then 0 and a view, or 1 and a plain value.
const (
	hostView  = 0
	hostOther = 1
)

// Node's ArrayBufferView type indices (lib/v8.js arrayBufferViewTypes).
const (
	hostInt8 = iota
	hostUint8
	hostUint8Clamped
	hostInt16
	hostUint16
	hostInt32
	hostUint32
	hostFloat32
	hostFloat64
	hostDataView
	hostBuffer
	hostBigInt64
	hostBigUint64
	hostFloat16 // Node 26+ only: decoded, never sent
)

// RegExp flag bits, in V8's order, and the letters they stand for.
const (
	regexpLinear   = 64  // V8's experimental engine flag: Node rejects it
	regexpFlagMask = 511 // bits at or above 512 are invalid
)

// regexpFlagLetters lists the flag letters in RegExp.prototype.flags order
// with their V8 bits.
var regexpFlagLetters = [...]struct {
	letter byte
	bit    uint32
}{
	{'d', 128}, {'g', 1}, {'i', 2}, {'m', 4}, {'s', 32}, {'u', 16}, {'v', 256}, {'y', 8},
}

// Limits that keep decoding bounded and keep the encoder from sending
// values Node cannot read.
const (
	v8MaxDepth       = 1000               // nesting the decoder accepts: what the encoder may send back
	v8MaxEncodeDepth = v8MaxDepth         // Node 22 cannot read plain objects nested about 1600 deep
	v8MaxPayload     = 1<<31 - 1          // Node 20 reads the frame length as int32
	v8MaxStringUnits = 1<<29 - 24         // V8's String::kMaxLength on 64-bit
	v8MaxArrayLength = 1<<27 - 3          // about V8's FixedArray::kMaxLength
	v8MaxArrayIndex  = math.MaxUint32 - 1 // the largest array index
)
