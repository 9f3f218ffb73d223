package nodeipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrNotWorker means the process was not started by a Node cluster primary:
// NODE_UNIQUE_ID is not set.
var ErrNotWorker = errors.New("nodeipc: not a cluster worker (NODE_UNIQUE_ID is not set)")

// clusterBacklog is the listen backlog asked for, Node's default.
const clusterBacklog = 511

// Worker is this process's membership in a Node.js cluster, as a worker
// of a primary that started it with cluster.fork() (pointed at this
// program by setting process.execPath in the primary).
//
// A Worker speaks the NODE_CLUSTER protocol: it reports itself online,
// asks the primary for listening sockets (Listen) and UDP sockets
// (ListenPacket), accepts the connections the primary hands it in
// round-robin mode, and leaves when the primary
// calls worker.disconnect(): it closes its listeners, then the channel,
// and Done is closed; the program should then exit (the primary sees
// exitedAfterDisconnect true). Messages the primary sends with
// worker.send() arrive on Channel().Recv as usual.
type Worker struct {
	ch *Channel
	id int

	mu        sync.Mutex
	seq       int                       // the next NODE_CLUSTER seq
	calls     map[int]chan clusterReply // replies awaited, by seq
	listeners map[string]*clusterListener
	packets   map[string]*clusterPacketConn
	indexes   map[string]int // listens per address:port:addressType:fd
	listening int            // Listen calls in progress
	early     []earlyConn    // connections that came before their listener
	leaving   bool

	done chan struct{} // closed when the worker has left the cluster
	wg   sync.WaitGroup
}

type clusterReply struct {
	m clusterMsg
	h *Handle
}

// clusterMsg is the part of a NODE_CLUSTER message the worker reads.
type clusterMsg struct {
	Act      string          `json:"act"`
	Seq      *int            `json:"seq"`
	Ack      *int            `json:"ack"`
	Key      string          `json:"key"`
	Errno    json.RawMessage `json:"errno"`
	Sockname *struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"sockname"`
}

// JoinCluster makes this process a worker of the Node cluster primary that
// started it: it reads NODE_UNIQUE_ID (the worker id) and removes it from
// the environment, so that programs this process starts are not taken for
// workers, adopts the channel with FromEnv if ch is nil, and tells the
// primary the worker is online. It returns an error wrapping ErrNotWorker
// when NODE_UNIQUE_ID is not set.
func JoinCluster(ctx context.Context, ch *Channel) (*Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idText, _ := os.LookupEnv(envUniqueID)
	os.Unsetenv(envUniqueID)
	if idText == "" {
		return nil, ErrNotWorker
	}
	id, err := strconv.Atoi(idText)
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%q is not a number", ErrNotWorker, envUniqueID, idText)
	}
	if ch == nil {
		if ch, err = FromEnv(nil); err != nil {
			return nil, err
		}
	}
	w := &Worker{
		ch:        ch,
		id:        id,
		calls:     map[int]chan clusterReply{},
		listeners: map[string]*clusterListener{},
		packets:   map[string]*clusterPacketConn{},
		indexes:   map[string]int{},
		done:      make(chan struct{}),
	}
	ch.clusterMu.Lock()
	ch.cluster = w.onMessage
	ch.clusterMu.Unlock()
	if _, err := w.send(jsonObject{"act": "online"}, false); err != nil {
		return nil, err
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		select {
		case <-ch.Done():
			w.leave(false) // the primary went away
		case <-w.done:
		}
	}()
	return w, nil
}

// ID returns the worker id the primary gave (cluster.worker.id).
func (w *Worker) ID() int { return w.id }

// Channel returns the worker's channel to the primary.
func (w *Worker) Channel() *Channel { return w.ch }

// Done returns a channel that is closed when the worker has left the
// cluster: the primary called worker.disconnect() (the worker has closed
// its listeners and the channel), the channel ended, or Disconnect was
// called.
func (w *Worker) Done() <-chan struct{} { return w.done }

// send sends a NODE_CLUSTER message with the next seq; with wait, it
// returns a channel for the reply.
func (w *Worker) send(payload jsonObject, wait bool) (chan clusterReply, error) {
	w.mu.Lock()
	seq := w.seq
	w.seq++
	var reply chan clusterReply
	if wait {
		reply = make(chan clusterReply, 1)
		w.calls[seq] = reply
	}
	w.mu.Unlock()
	payload["cmd"] = "NODE_CLUSTER"
	payload["seq"] = seq
	if err := w.ch.sendInternal(payload); err != nil {
		w.mu.Lock()
		delete(w.calls, seq)
		w.mu.Unlock()
		return nil, err
	}
	return reply, nil
}

// call sends a request and waits for its reply.
func (w *Worker) call(ctx context.Context, payload jsonObject) (clusterReply, error) {
	reply, err := w.send(payload, true)
	if err != nil {
		return clusterReply{}, err
	}
	w.ch.tok.reclaim() // the answer must be read even if nobody is in Recv
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-w.ch.Done():
		err = fmt.Errorf("nodeipc: cluster: %w", ErrDisconnected)
	}
	// Give up the call; a reply that raced in is dropped with its handle.
	w.mu.Lock()
	for seq, ch := range w.calls {
		if ch == reply {
			delete(w.calls, seq)
		}
	}
	w.mu.Unlock()
	select {
	case r := <-reply:
		if r.h != nil {
			r.h.Close()
		}
	default:
	}
	return clusterReply{}, err
}

// onMessage receives every NODE_CLUSTER message (on the channel's reader
// goroutine; it must not block) and the handle that came with it.
func (w *Worker) onMessage(m *Message, h *Handle) {
	var cm clusterMsg
	if err := m.Decode(&cm); err != nil {
		if h != nil {
			h.Close()
		}
		return
	}
	if cm.Ack != nil {
		w.mu.Lock()
		reply, ok := w.calls[*cm.Ack]
		if ok {
			// Under the lock, so that call sees it when it gives up.
			delete(w.calls, *cm.Ack)
			reply <- clusterReply{m: cm, h: h} // buffered, never blocks
		}
		w.mu.Unlock()
		if ok {
			return
		}
	}
	switch cm.Act {
	case "newconn":
		if h == nil { // nothing to accept; answer so the primary goes on
			w.answerConn(nil, cm, nil)
			return
		}
		w.newConn(cm, h)
		return
	case "disconnect":
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.leave(true)
		}()
	}
	if h != nil {
		h.Close()
	}
}

// newConn takes a connection the primary hands over in round-robin mode
// and answers {ack, accepted}. A connection can arrive right after the
// queryServer reply, before Listen has registered its listener: while a
// Listen is in progress it waits (unanswered, so the primary sends this
// worker nothing more meanwhile) until the listener is registered.
func (w *Worker) newConn(cm clusterMsg, h *Handle) {
	w.mu.Lock()
	l := w.listeners[cm.Key]
	if l == nil && w.listening > 0 {
		w.early = append(w.early, earlyConn{cm, h})
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	w.answerConn(l, cm, h)
}

// earlyConn is a round-robin connection that came before its listener.
type earlyConn struct {
	cm clusterMsg
	h  *Handle
}

// answerConn queues the connection on l (if any) and answers the primary.
func (w *Worker) answerConn(l *clusterListener, cm clusterMsg, h *Handle) {
	accepted := false
	if h != nil {
		if conn, ok := h.Value.(net.Conn); ok && l != nil {
			accepted = l.offer(conn)
		}
		if !accepted {
			h.Close()
		}
	}
	if cm.Seq != nil {
		_, _ = w.send(jsonObject{"ack": *cm.Seq, "accepted": accepted}, false)
	}
}

// listenDone ends a Listen call: early connections go to their listener
// now, or are refused when no Listen is left that could take them.
func (w *Worker) listenDone() {
	w.mu.Lock()
	w.listening--
	var ready []earlyConn
	var ls []*clusterListener
	keep := w.early[:0]
	for _, e := range w.early {
		if l := w.listeners[e.cm.Key]; l != nil || w.listening == 0 {
			ready = append(ready, e)
			ls = append(ls, l)
		} else {
			keep = append(keep, e)
		}
	}
	clear(w.early[len(keep):])
	w.early = keep
	w.mu.Unlock()
	for i, e := range ready {
		w.answerConn(ls[i], e.cm, e.h)
	}
}

// Listen asks the primary for a listening socket, as server.listen() does
// in a Node worker, and returns a listener that works in either scheduling
// mode: in round-robin mode (Node's default) the primary owns the socket
// and hands this worker connections; in shared mode (SCHED_NONE) the
// worker receives the bound socket and accepts on it itself. network is
// "tcp", "tcp4" or "tcp6"; address is host:port as for net.Listen, and
// workers asking for the same address (port 0 included) share one socket.
// Closing the listener tells the primary.
func (w *Worker) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("nodeipc: cluster listen: unsupported network %q", network)
	}
	q, err := w.queryServer(ctx, network, address)
	if err != nil {
		return nil, err
	}
	defer w.listenDone()
	r, query := q.reply, q.query
	l := &clusterListener{w: w, key: r.m.Key, closed: make(chan struct{})}
	if r.h != nil {
		// Shared mode: a bound socket, which we listen on.
		inner, err := listenHandle(r.h, clusterBacklog)
		if err != nil {
			return nil, fmt.Errorf("nodeipc: cluster listen %s: %w", address, err)
		}
		l.inner = inner
		l.addr = inner.Addr()
	} else {
		// Round-robin: connections come from the primary.
		if r.m.Sockname == nil {
			return nil, fmt.Errorf("nodeipc: cluster listen %s: the primary sent neither a socket nor its address", address)
		}
		l.conns = make(chan net.Conn, 64)
		l.addr = &net.TCPAddr{IP: net.ParseIP(r.m.Sockname.Address), Port: r.m.Sockname.Port}
	}
	w.mu.Lock()
	if w.leaving {
		w.mu.Unlock()
		l.shut(false)
		return nil, fmt.Errorf("nodeipc: cluster listen: %w", net.ErrClosed)
	}
	w.listeners[l.key] = l
	w.mu.Unlock()
	listening := query()
	listening["act"] = "listening"
	if ta, ok := l.addr.(*net.TCPAddr); ok {
		listening["port"] = ta.Port
	}
	if _, err := w.send(listening, false); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// serverQuery is an answered queryServer.
type serverQuery struct {
	reply clusterReply
	query func() jsonObject // the request, for the listening message
}

// queryServer asks the primary for a socket, as cluster._getServer does
// in a Node worker. For a TCP network it counts as a Listen in progress
// until the caller calls listenDone (also after an error).
func (w *Worker) queryServer(ctx context.Context, network, address string) (serverQuery, error) {
	tcp := network[:3] == "tcp"
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return serverQuery{}, fmt.Errorf("nodeipc: cluster listen: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return serverQuery{}, fmt.Errorf("nodeipc: cluster listen: bad port %q", portText)
	}
	v6 := network[len(network)-1] == '6'
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		v6 = true
	}
	var addressType any = 4
	var fd any // undefined for TCP
	switch {
	case tcp && v6:
		addressType = 6
	case !tcp && v6:
		addressType, fd = "udp6", -1
	case !tcp:
		addressType, fd = "udp4", -1
	}
	var addr any = host
	if host == "" {
		addr = nil // all interfaces, as listen(port) in Node
	}
	indexKey := fmt.Sprintf("%v:%d:%v:%v", addr, port, addressType, fd)
	w.mu.Lock()
	if w.leaving {
		w.mu.Unlock()
		return serverQuery{}, fmt.Errorf("nodeipc: cluster listen: %w", net.ErrClosed)
	}
	index := w.indexes[indexKey]
	w.indexes[indexKey]++
	if tcp {
		w.listening++
	}
	w.mu.Unlock()
	query := func() jsonObject {
		q := jsonObject{"act": "queryServer", "index": index, "data": nil, "address": addr,
			"port": port, "addressType": addressType, "flags": 0}
		if tcp {
			q["backlog"] = clusterBacklog
		} else {
			q["fd"] = fd
		}
		return q
	}
	r, err := w.call(ctx, query())
	if err == nil {
		if err = errnoError(r.m.Errno); err != nil {
			if r.h != nil {
				r.h.Close()
			}
			err = fmt.Errorf("nodeipc: cluster listen %s: the primary failed: %w", address, err)
		}
	}
	if err != nil {
		if tcp {
			w.listenDone()
		}
		return serverQuery{}, err
	}
	return serverQuery{reply: r, query: query}, nil
}

// ListenPacket asks the primary for a UDP socket, as socket.bind() does
// in a Node worker. network is "udp", "udp4" or "udp6". UDP is always
// shared: every worker that binds the same address (port 0 included)
// gets the same socket, and the kernel gives each datagram to one of
// them. Closing the returned conn tells the primary.
func (w *Worker) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("nodeipc: cluster listen: unsupported network %q", network)
	}
	q, err := w.queryServer(ctx, network, address)
	if err != nil {
		return nil, err
	}
	r := q.reply
	if r.h == nil {
		return nil, fmt.Errorf("nodeipc: cluster listen %s: the primary sent no socket", address)
	}
	pc, ok := r.h.Value.(net.PacketConn)
	if !ok {
		r.h.Close()
		return nil, fmt.Errorf("%w: the primary sent %s (%T) for a UDP socket", ErrInvalidHandle, r.h.Type, r.h.Value)
	}
	p := &clusterPacketConn{PacketConn: pc, w: w, key: r.m.Key}
	w.mu.Lock()
	if w.leaving {
		w.mu.Unlock()
		pc.Close()
		return nil, fmt.Errorf("nodeipc: cluster listen: %w", net.ErrClosed)
	}
	w.packets[p.key] = p
	w.mu.Unlock()
	listening := q.query()
	listening["act"] = "listening"
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		listening["port"] = ua.Port
	}
	if _, err := w.send(listening, false); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// clusterPacketConn is a UDP socket obtained from the primary.
type clusterPacketConn struct {
	net.PacketConn
	w    *Worker
	key  string
	once sync.Once
}

// Close closes the socket and tells the primary.
func (p *clusterPacketConn) Close() error { return p.shut(true) }

func (p *clusterPacketConn) shut(tellPrimary bool) error {
	err := net.ErrClosed
	p.once.Do(func() {
		p.w.mu.Lock()
		if p.w.packets[p.key] == p {
			delete(p.w.packets, p.key)
		}
		p.w.mu.Unlock()
		if tellPrimary {
			_, _ = p.w.send(jsonObject{"act": "close", "key": p.key}, false)
		}
		err = p.PacketConn.Close()
	})
	return err
}

// errnoError reads the errno of a queryServer reply: null or 0 is success,
// a negative number is a libuv error (a negated errno on Unix).
func errnoError(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "0" {
		return nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil && n < 0 {
		return syscall.Errno(-n)
	}
	return fmt.Errorf("errno %s", raw)
}

// Disconnect leaves the cluster on the worker's own initiative, as
// cluster.worker.disconnect() does in a Node worker: it closes the
// listeners, tells the primary (so that exitedAfterDisconnect is true
// there) and closes the channel. The program should exit afterwards.
func (w *Worker) Disconnect(ctx context.Context) error {
	w.mu.Lock()
	already := w.leaving
	w.mu.Unlock()
	if already {
		<-w.done
		w.wg.Wait()
		return nil
	}
	w.closeListeners(true)
	_, err := w.call(ctx, jsonObject{"act": "exitedAfterDisconnect"})
	w.leave(false)
	w.wg.Wait()
	return err
}

// leave closes the listeners (telling the primary when it still listens),
// disconnects the channel and closes done. Only the first call acts.
func (w *Worker) leave(tellPrimary bool) {
	w.mu.Lock()
	if w.leaving {
		w.mu.Unlock()
		return
	}
	w.leaving = true
	w.mu.Unlock()
	w.closeListeners(tellPrimary)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = w.ch.Disconnect(ctx)
	cancel()
	close(w.done)
}

func (w *Worker) closeListeners(tellPrimary bool) {
	w.mu.Lock()
	ls := make([]*clusterListener, 0, len(w.listeners))
	for _, l := range w.listeners {
		ls = append(ls, l)
	}
	ps := make([]*clusterPacketConn, 0, len(w.packets))
	for _, p := range w.packets {
		ps = append(ps, p)
	}
	w.mu.Unlock()
	for _, l := range ls {
		l.shut(tellPrimary)
	}
	for _, p := range ps {
		p.shut(tellPrimary)
	}
}

// clusterListener is a listener obtained from the primary.
type clusterListener struct {
	w     *Worker
	key   string
	addr  net.Addr
	inner net.Listener  // shared mode
	conns chan net.Conn // round-robin mode

	mu       sync.Mutex
	isClosed bool
	closed   chan struct{}
}

// offer queues a round-robin connection; false if the listener is closed
// or its queue is full (the primary then gives it to another worker).
func (l *clusterListener) offer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed || l.conns == nil {
		return false
	}
	select {
	case l.conns <- c:
		return true
	default:
		return false
	}
}

// Accept waits for the next connection.
func (l *clusterListener) Accept() (net.Conn, error) {
	if l.inner != nil {
		return l.inner.Accept()
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops listening and tells the primary.
func (l *clusterListener) Close() error { return l.shut(true) }

func (l *clusterListener) shut(tellPrimary bool) error {
	l.mu.Lock()
	if l.isClosed {
		l.mu.Unlock()
		return nil
	}
	l.isClosed = true
	close(l.closed)
	l.mu.Unlock()
	l.w.mu.Lock()
	if l.w.listeners[l.key] == l {
		delete(l.w.listeners, l.key)
	}
	l.w.mu.Unlock()
	if tellPrimary {
		_, _ = l.w.send(jsonObject{"act": "close", "key": l.key}, false)
	}
	var err error
	if l.inner != nil {
		err = l.inner.Close()
	}
	if l.conns != nil {
		for {
			select {
			case c := <-l.conns:
				c.Close()
				continue
			default:
			}
			break
		}
	}
	return err
}

// Addr returns the address the primary listens on (round-robin) or the
// shared socket's address.
func (l *clusterListener) Addr() net.Addr { return l.addr }
