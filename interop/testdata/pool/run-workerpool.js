'use strict';
// workerpool drives a Go worker (argv[2]) as a process worker and prints
// what it observed as one JSON object.
const path = require('node:path');
const workerpool = require('workerpool');

const goBin = process.argv[2];
const marker = process.argv[3];

function errInfo(e) {
  return { isError: e instanceof Error, ctor: e.constructor.name, name: e.name, message: e.message, code: e.code, hasStack: typeof e.stack === 'string' && e.stack.length > 0 };
}

(async () => {
  const out = {};
  const pool = workerpool.pool(path.join(__dirname, 'dummy.js'), {
    workerType: 'process',
    maxWorkers: 2,
    forkOpts: { execPath: goBin },
    workerTerminateTimeout: 5000,
  });
  out.add = await pool.exec('add', [2, 3]);
  const echoes = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.exec('echo', [{ i, s: 'é\u2028' }])));
  out.echoOK = echoes.every((v, i) => v.i === i && v.s === 'é\u2028');
  const proxy = await pool.proxy();
  out.proxyMethods = Object.keys(proxy).sort();
  out.proxyAdd = await proxy.add(40, 2);
  try {
    await pool.exec('fail', ['boom']);
    out.error = 'no error';
  } catch (e) {
    out.error = errInfo(e);
  }
  try {
    await pool.exec('nope', []);
  } catch (e) {
    out.unknown = e.message;
  }
  const events = [];
  out.progress = await pool.exec('progress', [3], { on: (p) => events.push(p) });
  out.events = events;
  // Cancellation: workerpool sends the cleanup message; the Go worker
  // cancels the handler (which writes the marker) and confirms.
  const blocked = pool.exec('block', [marker], { on: () => blocked.cancel() });
  try {
    await blocked;
  } catch (e) {
    out.cancel = e.name;
  }
  try {
    await pool.exec('sleep', [60000, null]).timeout(100);
  } catch (e) {
    out.timeout = e.name;
  }
  out.afterCancel = await pool.exec('add', [1, 1]);
  const stats = pool.stats();
  out.workers = stats.totalWorkers;
  await pool.terminate();
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
