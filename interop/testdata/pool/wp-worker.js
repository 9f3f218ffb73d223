'use strict';
// A worker written with workerpool.worker(), unmodified, for the Go Pool.
const workerpool = require('workerpool');

workerpool.worker({
  add: (a, b) => a + b,
  pid: () => process.pid,
  fail(msg) {
    const e = new TypeError(msg);
    e.code = 'E_BAD';
    throw e;
  },
  progress(n) {
    for (let i = 0; i < n; i++) workerpool.workerEmit({ step: i });
    return 'done';
  },
  sleep: (ms, v) => new Promise((resolve) => setTimeout(() => resolve(v), ms)),
});
