'use strict';
// A Node worker for a nodeipc Pool, written with @nodeipc/node (js/). Its
// methods mirror the Go test worker's (interop/pool_helpers_test.go).
const fs = require('node:fs');
const { worker } = require('../../../js');

worker({
  add: (a, b) => a + b,
  echo: (v) => v,
  pid: () => process.pid,
  kind: () => 'node',
  sleep(ms, v) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve(v), ms);
      this.signal.addEventListener('abort', () => { clearTimeout(t); reject(this.signal.reason); });
    });
  },
  fail(msg) {
    const e = new TypeError(msg);
    e.code = 'E_BAD';
    throw e;
  },
  // failWith throws a RangeError whose code and details are the values
  // given (with advanced serialization: any value V8 carries).
  failWith(code, details) {
    const e = new RangeError('with values');
    e.code = code;
    e.details = details;
    throw e;
  },
  progressWith(v) {
    this.emit(v);
    return 'done';
  },
  progress(n) {
    for (let i = 0; i < n; i++) this.emit({ step: i });
    return 'done';
  },
  // block reports its pid, then waits for cancellation and records it in
  // the marker file.
  block(marker) {
    this.emit({ pid: process.pid, kind: 'node' });
    return new Promise((resolve, reject) => {
      this.signal.addEventListener('abort', () => {
        fs.writeFileSync(marker, 'cancelled');
        reject(new Error('cancelled'));
      });
    });
  },
  crash() {
    process.stderr.write('node worker crashing\n');
    process.exit(3);
  },
});
