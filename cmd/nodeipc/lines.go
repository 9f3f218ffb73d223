package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"nodeipc.dev/nodeipc"
	"nodeipc.dev/nodeipc/jsvalue"
)

// maxLineSize is the longest JSON line accepted from stdin or from a bridged
// program; a longer line is reported and skipped. It matches the library's
// default limit for incoming messages. (A variable for tests.)
var maxLineSize = nodeipc.DefaultMaxMessageSize

// serializationFlag is the value of --serialization.
type serializationFlag struct{ s nodeipc.Serialization }

// Set parses "json" or "advanced".
func (f *serializationFlag) Set(v string) error {
	if v == "" || f.s.UnmarshalText([]byte(v)) != nil {
		return errors.New(`want "json" or "advanced"`)
	}
	return nil
}

// String returns the flag's value as Node names it.
func (f *serializationFlag) String() string { return f.s.String() }

// lineValue turns one input line into the value to send on a channel of
// the given serialization. In json mode it is the line itself, as a
// json.RawMessage: Send validates it and sends it verbatim. In advanced mode
// the line is parsed with jsvalue.FromJSON, so the tagged objects that
// messageLine writes for Map, Set, BigInt, Date, Buffer... become those JS
// types again. Errors wrap nodeipc.ErrInvalidMessage.
func lineValue(mode nodeipc.Serialization, line []byte) (any, error) {
	if mode == nodeipc.JSON {
		return json.RawMessage(line), nil
	}
	v, err := jsvalue.FromJSON(line)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", nodeipc.ErrInvalidMessage, err)
	}
	return v, nil
}

// messageLine returns m as one JSON line, with its newline: in json mode the
// message's own text, in advanced mode nodeipc's JSON view of the value
// (Message.AppendJSON).
func messageLine(m *nodeipc.Message) ([]byte, error) {
	b, err := m.AppendJSON(nil)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// sendLines reads r one line at a time and sends each line to ch as one
// message, until r ends. Blank lines are skipped; a line that is not valid
// JSON (or that Send refuses) is reported, with its number, and not sent.
// from names r in reports ("stdin").
//
// sendLines returns nil at the end of r, the Send error once the channel
// has ended (it wraps nodeipc.ErrDisconnected or net.ErrClosed), or the read
// error.
func sendLines(ctx context.Context, ch *nodeipc.Channel, r io.Reader, from string, report func(string, ...any)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	mode := ch.Serialization()
	var line []byte
	for n := 1; ; n++ {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(br, line[:0])
		if tooLong {
			report("%s line %d: longer than %d bytes; not sent", from, n, maxLineSize)
		} else if len(bytes.TrimSpace(line)) > 0 {
			v, verr := lineValue(mode, line)
			if verr == nil {
				verr = ch.Send(ctx, v)
			}
			switch {
			case verr == nil:
			case errors.Is(verr, nodeipc.ErrInvalidMessage), errors.Is(verr, nodeipc.ErrMessageTooLarge):
				report("%s line %d: %v; not sent", from, n, verr)
			default:
				return verr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine appends the next line of br to buf, without its "\n". If the
// line is longer than maxLineSize it is consumed but not returned, and
// tooLong is set. err is io.EOF after the last line (which may be empty).
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLineSize+1 {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			return bytes.TrimSuffix(buf, []byte("\n")), tooLong, nil
		default:
			return buf, tooLong, err
		}
	}
}

// recvLines receives messages from ch and writes each one to w as a JSON
// line, until the channel ends; it returns the error that ended it (one
// wrapping nodeipc.ErrDisconnected when the peer left, net.ErrClosed when
// this side closed it). Bad input from the peer is reported and skipped.
// If w fails, the error is reported once and later messages are dropped,
// so the peer is never blocked by a dead reader. to names w in reports.
func recvLines(ctx context.Context, ch *nodeipc.Channel, w io.Writer, to string, report func(string, ...any)) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var werr error
	flush := func() {
		if werr == nil {
			if werr = bw.Flush(); werr != nil {
				report("writing to %s: %v; dropping messages from now on", to, werr)
			}
		}
	}
	defer flush()
	idle, cancel := context.WithCancel(ctx)
	cancel()
	for {
		// Take what is already queued without blocking; flush before
		// waiting, so every line is out as soon as nothing else is ready.
		m, err := ch.Recv(idle)
		if err != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil {
			flush()
			m, err = ch.Recv(ctx)
		}
		var perr *nodeipc.ProtocolError
		switch {
		case errors.As(err, &perr):
			report("bad message skipped: %v", perr)
			continue
		case err != nil:
			return err
		}
		line, err := messageLine(m)
		if err != nil {
			report("bad message skipped: %v", err)
			continue
		}
		if werr == nil {
			if _, werr = bw.Write(line); werr != nil {
				report("writing to %s: %v; dropping messages from now on", to, werr)
			}
		}
	}
}
