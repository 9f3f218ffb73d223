'use strict';
// A Node worker written with the package, for the tests in ../test. Its
// methods are the Go test worker's (interop/testdata/goworker) plus a few
// that only JavaScript has. It loads the package by its name, so the
// "exports" of package.json are what the tests exercise.
const { worker } = require('@nodeipc/node');

let cancelled = 0;

worker({
  add: (a, b) => a + b,
  echo: (v) => v,
  fail(message, code) {
    const e = new TypeError(message);
    e.code = code;
    throw e;
  },
  // failPlain throws a value that is not an Error.
  failPlain(message) {
    throw message; // eslint-disable-line no-throw-literal
  },
  progress(n) {
    for (let i = 0; i < n; i++) this.emit({ step: i });
    return 'done';
  },
  // block emits {blocked: true}, then settles only when the call is
  // cancelled, and counts it.
  block() {
    this.emit({ blocked: true });
    return new Promise((resolve, reject) => {
      this.signal.addEventListener('abort', () => {
        cancelled++;
        reject(this.signal.reason);
      });
    });
  },
  cancelled: () => cancelled,
  sleep(ms, v) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve(v), ms);
      this.signal.addEventListener('abort', () => { clearTimeout(t); reject(this.signal.reason); });
    });
  },
  crash(code) {
    process.stderr.write('node worker: crashing\n');
    process.exit(code);
  },
  pid: () => process.pid,
  // types reports the JavaScript types of its params, as the worker saw
  // them.
  types: (...params) => params.map((p) => Object.prototype.toString.call(p)),
  bigint: () => 10n ** 20n,
  // stubborn never settles and ignores cancellation and SIGTERM (when
  // asked), to drive the client's shutdown ladder.
  stubborn(ignoreSigterm) {
    if (ignoreSigterm) process.on('SIGTERM', () => {});
    return new Promise(() => {});
  },
});
