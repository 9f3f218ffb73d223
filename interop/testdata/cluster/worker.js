'use strict';
// A Node cluster worker next to Go workers: an HTTP server, or with
// CLUSTER_PROTO=udp a UDP echo, on 127.0.0.1 and the port the primary
// names (0: shared with the other workers).
const cluster = require('node:cluster');
const http = require('node:http');
const dgram = require('node:dgram');

const port = Number(process.env.PORT || 0);
if (process.env.CLUSTER_PROTO === 'udp') {
  const s = dgram.createSocket('udp4');
  s.on('message', (d, r) => s.send(`worker ${cluster.worker.id} node:${d}`, r.port, r.address));
  s.bind(port, '127.0.0.1');
} else {
  const server = http.createServer((req, res) => {
    res.end(`worker ${cluster.worker.id} node`);
  });
  server.listen(port, '127.0.0.1');
}
