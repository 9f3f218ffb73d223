'use strict';
// The same methods as wp-worker.js, written with @nodeipc/node (js/, the
// project's own helper) instead of workerpool.worker().
const { worker } = require('../../../../js');

worker({
  add: (a, b) => a + b,
  echo: (v) => v,
});
