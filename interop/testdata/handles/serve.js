'use strict';
const net = require('node:net');
const dgram = require('node:dgram');
// Serves one round of traffic on a handle the Go side sent, the way the Go
// tests expect it (see interop/handles_test.go, driveNodeServe):
//   socket, unix: answer the first data with "node-socket:<data>", then end;
//   server: answer one connection with "node-server", then close;
//   udp:    answer one datagram with "node-udp:<data>", then close.
function serve(m, h) {
  switch (m && m.kind) {
    case 'socket':
    case 'unix':
      h.once('data', (d) => h.end('node-socket:' + d));
      return true;
    case 'server':
      h.once('connection', (s) => {
        s.end('node-server');
        h.close();
      });
      return true;
    case 'udp':
      h.once('message', (d, r) => {
        h.send('node-udp:' + d, r.port, r.address, () => h.close());
      });
      return true;
  }
  return false;
}

// describe names the handle Node built, for the assertions.
function describe(h) {
  if (!h) return 'none';
  if (h instanceof net.Server) return 'net.Server';
  if (h instanceof net.Socket) return 'net.Socket';
  if (h instanceof dgram.Socket) return 'dgram.Socket';
  return h.constructor.name;
}

module.exports = { serve, describe };
