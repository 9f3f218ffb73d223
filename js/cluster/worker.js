'use strict';
// A Node cluster worker next to Go workers: an HTTP server on the port
// the primary names (0: shared with the other workers).
const cluster = require('node:cluster');
const http = require('node:http');

const server = http.createServer((req, res) => {
  res.end(`worker ${cluster.worker.id} node`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1');
