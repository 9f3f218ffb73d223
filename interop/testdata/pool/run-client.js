'use strict';
// A Node parent forks a Go worker (argv[2]) with @nodeipc/node's fork()
// (js/) and prints what it observed.
const { fork } = require('../../../js');

const goBin = process.argv[2];
const marker = process.argv[3];

(async () => {
  const out = {};
  const c = fork(goBin, []);
  out.pidOK = c.pid > 0;
  out.add = await c.call('add', [2, 3]);
  const echoes = await Promise.all(Array.from({ length: 50 }, (_, i) => c.call('echo', [i])));
  out.echoOK = echoes.every((v, i) => v === i);
  try {
    await c.call('fail', ['boom']);
    out.error = 'no error';
  } catch (e) {
    out.error = { isError: e instanceof Error, ctor: e.constructor.name, name: e.name, message: e.message, code: e.code, hasStack: typeof e.stack === 'string' };
  }
  const events = [];
  out.progress = await c.call('progress', [3], { onEvent: (p) => events.push(p) });
  out.events = events;
  const ac = new AbortController();
  try {
    await c.call('block', [marker], { signal: ac.signal, onEvent: () => ac.abort() });
  } catch (e) {
    out.cancel = e.name;
  }
  try {
    await c.call('sleep', [60000, null], { timeout: 50 });
  } catch (e) {
    out.timeout = e.name;
  }
  out.afterCancel = await c.call('add', [1, 1]);
  out.exit = await c.close();
  // A worker that dies rejects its calls; one that cannot start, too.
  const c2 = fork(goBin, [], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await c2.call('crash', []);
  } catch (e) {
    out.crash = e.code;
  }
  out.crashExit = await c2.exited;
  const c3 = fork('/nonexistent/nodeipc-worker');
  try {
    await c3.call('add', [1, 1]);
  } catch (e) {
    out.spawnError = e.code;
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
