'use strict';
// The same methods as wp-worker.js, written with js/nodeipc-worker.js (the
// project's own helper) instead of workerpool.worker().
const { worker } = require('../../nodeipc-worker.js');

worker({
  add: (a, b) => a + b,
  echo: (v) => v,
});
