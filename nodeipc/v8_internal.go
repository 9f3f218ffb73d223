package nodeipc

// Recognising Node's internal messages in advanced mode without decoding
// them.

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// The key "cmd" as one-byte (or UTF-8) and as host-order UTF-16 bytes.
var (
	cmdLatin1 = []byte("cmd")
	cmdUTF16  = binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(nil, 'c'), 'm'), 'd')
)

// v8InternalCmd reports whether payload's top-level value is an object
// whose "cmd" property is a string longer than 5 characters starting with
// "NODE_" (Node's isInternal rule), and returns it. It walks the payload
// without building values, so it is cheap for ordinary messages, and it
// never panics on bad input (which is simply not internal).
func v8InternalCmd(payload []byte) (cmd string, ok bool) {
	// Most messages never spell "cmd" at all (in Latin-1, UTF-8 or
	// UTF-16): a substring search rules them out without walking them.
	if !bytes.Contains(payload, cmdLatin1) && !bytes.Contains(payload, cmdUTF16) {
		return "", false
	}
	d := v8Decoder{buf: payload}
	if d.header() != nil {
		return "", false
	}
	t, _, err := d.valueTag()
	if err != nil {
		return "", false
	}
	if t == tagHostObject {
		// Node's "other host object" wraps a plain object: 5C 01 value.
		if sub, err := d.varint32(); err != nil || sub != hostOther {
			return "", false
		}
		if t, _, err = d.valueTag(); err != nil {
			return "", false
		}
	}
	end := byte(tagEndObject)
	switch t {
	case tagBeginObject:
	case tagBeginSparse:
		if _, err := d.varint32(); err != nil {
			return "", false
		}
		end = tagEndSparse
	case tagBeginDense:
		// Arrays are objects too: a "cmd" property follows the elements.
		n, err := d.varint32()
		if err != nil {
			return "", false
		}
		for i := uint32(0); i < n; i++ {
			if t, next := d.peek(); next >= 0 && t == tagHole {
				d.pos = next
			} else if d.skipValue() != nil {
				return "", false
			}
		}
		end = tagEndDense
	default:
		return "", false
	}
	for {
		t, next := d.peek()
		if next < 0 || t == end {
			return "", false
		}
		isCmd, err := d.keyIsCmd()
		if err != nil {
			return "", false
		}
		if !isCmd {
			if d.skipValue() != nil {
				return "", false
			}
			continue
		}
		// V8 rejects duplicate keys, so the first "cmd" decides.
		t, _, err = d.valueTag()
		if err != nil || (t != tagOneByteString && t != tagTwoByteString && t != tagUTF8String) {
			return "", false
		}
		if t == tagOneByteString {
			// Check the raw bytes first, so a user's cmd costs nothing.
			n, err := d.varint32()
			if err != nil {
				return "", false
			}
			b, err := d.raw(n)
			if err != nil || len(b) <= 5 || !bytes.HasPrefix(b, []byte("NODE_")) {
				return "", false
			}
			return latin1String(b), true
		}
		s, err := d.stringBody(t)
		if err != nil || len(s) <= 5 || !strings.HasPrefix(s, "NODE_") {
			return "", false
		}
		return s, true
	}
}

// keyIsCmd reads a property key and reports whether it is "cmd".
func (d *v8Decoder) keyIsCmd() (bool, error) {
	t, next := d.peek()
	if next >= 0 && t == tagOneByteString {
		d.pos = next
		n, err := d.varint32()
		if err != nil {
			return false, err
		}
		b, err := d.raw(n)
		return string(b) == "cmd", err
	}
	k, err := d.key()
	return err == nil && k.hasS && k.s == "cmd", err
}

// skipValue steps over one value without building it.
func (d *v8Decoder) skipValue() error {
	d.depth++
	if d.depth > v8MaxDepth {
		return d.errAt(d.pos, "nesting deeper than %d levels", v8MaxDepth)
	}
	err := d.skipTagged()
	d.depth--
	return err
}

func (d *v8Decoder) skipTagged() error {
	t, off, err := d.valueTag()
	if err != nil {
		return err
	}
	switch t {
	case tagUndefined, tagNull, tagTrue, tagFalse, tagTrueObject, tagFalseObject:
		return nil
	case tagInt32, tagUint32, tagRef:
		_, err = d.varint32()
		return err
	case tagDouble, tagDate, tagNumberObject:
		_, err = d.double()
		return err
	case tagBigInt, tagBigIntObject:
		_, err = d.bigIntBytes()
		return err
	case tagOneByteString, tagTwoByteString, tagUTF8String:
		return d.skipBytes()
	case tagStringObject:
		return d.skipValue()
	case tagRegExp:
		if err := d.skipValue(); err != nil {
			return err
		}
		_, err = d.varint32()
		return err
	case tagBeginObject:
		return d.skipPairs(tagEndObject, 1)
	case tagBeginSparse:
		if _, err := d.varint32(); err != nil {
			return err
		}
		return d.skipPairs(tagEndSparse, 2)
	case tagBeginDense:
		n, err := d.varint32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if t, next := d.peek(); next >= 0 && t == tagHole {
				d.pos = next
			} else if err := d.skipValue(); err != nil {
				return err
			}
		}
		return d.skipPairs(tagEndDense, 2)
	case tagBeginMap, tagBeginSet:
		end := byte(tagEndMap)
		if t == tagBeginSet {
			end = tagEndSet
		}
		if err := d.until(end, d.skipValue); err != nil {
			return err
		}
		_, err := d.varint32()
		return err
	case tagArrayBuffer, tagResizableAB:
		n, err := d.varint32()
		if err == nil && t == tagResizableAB {
			_, err = d.varint32()
		}
		if err == nil {
			_, err = d.raw(n)
		}
		if err != nil {
			return err
		}
		if next, ok := d.viewFollows(); ok {
			d.pos = next
			for i := 0; i < 3 || i == 3 && d.ver >= 14; i++ {
				if _, err := d.varint32(); err != nil {
					return err
				}
			}
		}
		return nil
	case tagError:
		for {
			sub, err := d.varint32()
			if err != nil {
				return err
			}
			switch sub {
			case errEval, errRange, errReference, errSyntax, errType, errURI:
			case errMessage, errStack, errCause:
				if err := d.skipValue(); err != nil {
					return err
				}
			case errEnd:
				return nil
			default:
				return d.errAt(d.pos, "unknown Error field tag 0x%02x", sub)
			}
		}
	case tagHostObject:
		sub, err := d.varint32()
		if err != nil {
			return err
		}
		if sub == hostOther {
			return d.skipValue()
		}
		if _, err := d.varint32(); err != nil {
			return err
		}
		return d.skipBytes()
	}
	return d.errAt(off, "unknown or unsupported tag 0x%02x", t)
}

// skipBytes steps over a varint length and that many bytes.
func (d *v8Decoder) skipBytes() error {
	n, err := d.varint32()
	if err == nil {
		_, err = d.raw(n)
	}
	return err
}

func (d *v8Decoder) bigIntBytes() ([]byte, error) {
	bits, err := d.varint32()
	if err != nil {
		return nil, err
	}
	return d.raw(bits >> 1)
}

// skipPairs steps over key/value pairs up to end and the nCounts varints
// after it.
func (d *v8Decoder) skipPairs(end byte, nCounts int) error {
	err := d.until(end, func() error {
		if err := d.skipValue(); err != nil {
			return err
		}
		return d.skipValue()
	})
	for i := 0; err == nil && i < nCounts; i++ {
		_, err = d.varint32()
	}
	return err
}
