package nodeipc_test

import (
	"net"
	"testing"
)

// tcpPair returns both ends of a loopback TCP connection and the listener.
func tcpPair(t *testing.T) (client, server net.Conn, l net.Listener) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close(); l.Close() })
	return client, server, l
}
