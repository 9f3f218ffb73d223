'use strict';
// jest-worker drives a Go worker (argv[2]) and prints what it observed.
// argv[3] is the serialization: 'json', or 'default' for jest-worker's own
// default (advanced).
const path = require('node:path');
const { Worker } = require('jest-worker');

const goBin = process.argv[2];
const serialization = process.argv[3] || 'json';

(async () => {
  const out = {};
  const w = new Worker(path.join(__dirname, 'dummy.js'), {
    numWorkers: 2,
    maxRetries: 0,
    exposedMethods: ['add', 'echo', 'fail', 'progress'],
    forkOptions: serialization === 'default' ? { execPath: goBin } : { execPath: goBin, serialization },
  });
  out.add = await w.add(2, 3);
  const echoes = await Promise.all(Array.from({ length: 50 }, (_, i) => w.echo({ i })));
  out.echoOK = echoes.every((v, i) => v.i === i);
  try {
    await w.fail('boom');
    out.error = 'no error';
  } catch (e) {
    out.error = { isError: e instanceof Error, ctor: e.constructor.name, type: e.type, message: e.message, code: e.code, hasStack: typeof e.stack === 'string' };
  }
  const events = [];
  const p = w.progress(3);
  p.UNSTABLE_onCustomMessage((m) => events.push(m));
  out.progress = await p;
  out.events = events;
  out.end = await w.end();
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
