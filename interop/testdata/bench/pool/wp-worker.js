'use strict';
// The Node worker of the pool benchmark (interop/bench/poolbench), written
// with workerpool.worker() and nothing else. The same file runs under
// workerpool (the baseline) and under a Go nodeipc.Pool, so the two differ
// only in the parent. Its methods mirror interop/bench/poolbench/worker.
const workerpool = require('workerpool');

workerpool.worker({
  add: (a, b) => a + b,
  echo: (v) => v,
});
