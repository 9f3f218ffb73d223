'use strict';
// The same methods as wp-worker.js, written with @nodeipc/node (js/, the
// project's own helper) instead of workerpool.worker().
const crypto = require('node:crypto');
const { worker } = require('../../../../js');

const block = Buffer.alloc(4096);
for (let k = 0; k < block.length; k++) block[k] = (31 * k + 7) & 255;

worker({
  add: (a, b) => a + b,
  echo: (v) => v,
  hash: (i) => crypto.createHash('sha256').update(Buffer.of(i & 255)).update(block).digest('hex'),
});
