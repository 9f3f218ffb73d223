package v8

// Reading one property of a serialized value without decoding it.

import (
	"bytes"
	"encoding/binary"
)

// AppendStringProperty looks in the serialized value data for the
// property key of its top-level object (or array, or the object Node wraps
// in a host object), and if that property holds a string, appends it to dst
// in UTF-8 and returns the extended slice and true. Otherwise, and for data
// that is not valid, it returns dst and false. It reads data without
// building values: data that does not spell key at all costs one substring
// search, and it allocates nothing unless the string outgrows dst. This is
// how a receiver can route or filter a message, as Node's channel does by
// its "cmd" property, before (or without) decoding it.
func AppendStringProperty(dst, data []byte, key string) ([]byte, bool) {
	if !mayContainKey(data, key) {
		return dst, false
	}
	d := decoder{buf: data}
	if d.header() != nil {
		return dst, false
	}
	t, _, err := d.valueTag()
	if err != nil {
		return dst, false
	}
	if t == tagHostObject {
		// Node's "other host object" wraps a plain object: 5C 01 value.
		if sub, err := d.varint32(); err != nil || sub != hostOther {
			return dst, false
		}
		if t, _, err = d.valueTag(); err != nil {
			return dst, false
		}
	}
	end := byte(tagEndObject)
	switch t {
	case tagBeginObject:
	case tagBeginSparse:
		if _, err := d.varint32(); err != nil {
			return dst, false
		}
		end = tagEndSparse
	case tagBeginDense:
		// Arrays are objects too: named properties follow the elements.
		n, err := d.varint32()
		if err != nil {
			return dst, false
		}
		for i := uint32(0); i < n; i++ {
			if t, next := d.peek(); next >= 0 && t == tagHole {
				d.pos = next
			} else if d.skipValue() != nil {
				return dst, false
			}
		}
		end = tagEndDense
	default:
		return dst, false
	}
	for {
		t, next := d.peek()
		if next < 0 || t == end {
			return dst, false
		}
		match, err := d.keyIs(key)
		if err != nil {
			return dst, false
		}
		if !match {
			if d.skipValue() != nil {
				return dst, false
			}
			continue
		}
		// V8 rejects duplicate keys, so the first match decides.
		t, _, err = d.valueTag()
		if err != nil {
			return dst, false
		}
		switch t {
		case tagOneByteString:
			n, err := d.varint32()
			if err != nil {
				return dst, false
			}
			b, err := d.raw(n)
			if err != nil {
				return dst, false
			}
			return appendLatin1(dst, b), true
		case tagTwoByteString, tagUTF8String:
			s, err := d.stringBody(t, nil)
			if err != nil {
				return dst, false
			}
			return append(dst, s...), true
		}
		return dst, false
	}
}

// mayContainKey reports whether data may hold the property name key: for
// an ASCII key, whether data contains it as one-byte (or UTF-8) or as
// host-order UTF-16 bytes.
func mayContainKey(data []byte, key string) bool {
	if !isASCIIString(key) || len(key) > 32 {
		return true
	}
	if bytes.Contains(data, []byte(key)) {
		return true
	}
	var buf [64]byte
	k := buf[:0]
	for i := 0; i < len(key); i++ {
		k = binary.NativeEndian.AppendUint16(k, uint16(key[i]))
	}
	return bytes.Contains(data, k)
}

// keyIs reads a property key and reports whether it is key.
func (d *decoder) keyIs(key string) (bool, error) {
	t, next := d.peek()
	if next >= 0 && t == tagOneByteString {
		d.pos = next
		n, err := d.varint32()
		if err != nil {
			return false, err
		}
		b, err := d.raw(n)
		return latin1Equal(b, key), err
	}
	k, err := d.key()
	return err == nil && k.hasS && k.s == key, err
}

// latin1Equal reports whether the Latin-1 bytes b spell the UTF-8 string s.
func latin1Equal(b []byte, s string) bool {
	if isASCII(b) {
		return string(b) == s
	}
	j := 0
	for _, r := range s {
		if j >= len(b) || r > 0xFF || rune(b[j]) != r {
			return false
		}
		j++
	}
	return j == len(b)
}

// appendLatin1 appends the Latin-1 bytes b to dst in UTF-8.
func appendLatin1(dst, b []byte) []byte {
	for _, c := range b {
		if c < 0x80 {
			dst = append(dst, c)
		} else {
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return dst
}

// skipValue steps over one value without building it.
func (d *decoder) skipValue() error {
	t, off, err := d.valueTag()
	if err != nil {
		return err
	}
	if !nests(t) {
		return d.skipTagged(t, off)
	}
	if err := d.deeper(); err != nil {
		return err
	}
	err = d.skipTagged(t, off)
	d.depth--
	return err
}

// skipTagged steps over a value whose tag t, at off, has been consumed.
func (d *decoder) skipTagged(t byte, off int) error {
	var err error
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
			if err := d.deeper(); err != nil {
				return err
			}
			err := d.skipValue()
			d.depth--
			return err
		}
		if _, err := d.varint32(); err != nil {
			return err
		}
		return d.skipBytes()
	}
	return d.errAt(off, "unknown or unsupported tag 0x%02x", t)
}

// skipBytes steps over a varint length and that many bytes.
func (d *decoder) skipBytes() error {
	n, err := d.varint32()
	if err == nil {
		_, err = d.raw(n)
	}
	return err
}

func (d *decoder) bigIntBytes() ([]byte, error) {
	bits, err := d.varint32()
	if err != nil {
		return nil, err
	}
	return d.raw(bits >> 1)
}

// skipPairs steps over key/value pairs up to end and the nCounts varints
// after it.
func (d *decoder) skipPairs(end byte, nCounts int) error {
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
