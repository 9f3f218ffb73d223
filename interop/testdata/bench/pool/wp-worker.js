'use strict';
// The Node worker of the pool benchmark (interop/bench/poolbench), written
// with workerpool.worker() and nothing else. The same file runs under
// workerpool (the baseline) and under a Go nodeipc.Pool, so the two differ
// only in the parent. Its methods mirror interop/bench/poolbench/worker.
const crypto = require('node:crypto');
const workerpool = require('workerpool');

// hash(i) is the CPU-heavy method: the SHA-256, in hex, of the byte i % 256
// followed by a fixed 4 KiB block (byte k is (31k + 7) % 256).
const block = Buffer.alloc(4096);
for (let k = 0; k < block.length; k++) block[k] = (31 * k + 7) & 255;

workerpool.worker({
  add: (a, b) => a + b,
  echo: (v) => v,
  hash: (i) => crypto.createHash('sha256').update(Buffer.of(i & 255)).update(block).digest('hex'),
});
