'use strict';
// worker-farm drives a Go worker (argv[2]) and prints what it observed.
const path = require('node:path');
const workerFarm = require('worker-farm');

const goBin = process.argv[2];
const children = [];

const workers = workerFarm({
  maxConcurrentWorkers: 2,
  maxRetries: 0,
  workerOptions: { execPath: goBin },
  onChild: (child) => {
    const rec = { pid: child.pid, exit: null };
    children.push(rec);
    child.on('exit', (code, signal) => { rec.exit = { code, signal }; });
  },
}, path.join(__dirname, 'dummy.js'), ['add', 'echo', 'fail']);

const call = (method, ...args) => new Promise((resolve, reject) => {
  workers[method](...args, (err, result) => (err ? reject(err) : resolve(result)));
});

(async () => {
  const out = {};
  out.add = await call('add', 2, 3);
  const echoes = await Promise.all(Array.from({ length: 50 }, (_, i) => call('echo', i)));
  out.echoOK = echoes.every((v, i) => v === i);
  try {
    await call('fail', 'boom');
    out.error = 'no error';
  } catch (e) {
    out.error = { isError: e instanceof Error, ctor: e.constructor.name, type: e.type, message: e.message, code: e.code, hasStack: typeof e.stack === 'string' };
  }
  await new Promise((resolve) => workerFarm.end(workers, resolve));
  // Wait for the children to exit (worker-farm kills them after
  // forcedKillTime if they do not).
  for (let i = 0; i < 100 && children.some((c) => c.exit === null); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  out.exits = children.map((c) => c.exit);
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
