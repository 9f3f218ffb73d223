'use strict';
// worker() seen from the wire: a real Node worker (testdata/node-worker.js)
// forked by child_process.fork, driven with the envelope's raw messages
// (nodeipc/PROTOCOL.md §10.2), in both serializations.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const { after, describe, it } = require('node:test');
const { nodeWorker, run } = require('../testdata/support.js');

const CLEANUP = '__workerpool-cleanup__';
const TERMINATE = '__workerpool-terminate__';

// Every worker a test starts, killed at the end should a test fail or time
// out before it stopped the worker.
const started = new Set();
after(() => { for (const child of started) child.kill('SIGKILL'); });

// start forks the Node worker and returns the child with next(), which
// resolves with the next message it sends, and exit, which resolves with
// {code, signal}.
function start(serialization) {
  const child = childProcess.fork(nodeWorker, [], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  started.add(child);
  child.on('exit', () => started.delete(child));
  const messages = [];
  const waiting = [];
  child.on('message', (m) => {
    if (waiting.length > 0) waiting.shift()(m);
    else messages.push(m);
  });
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiting.push(resolve)));
  return { child, next, exit };
}

// ready starts the worker and checks that its first message is "ready".
async function ready(serialization) {
  const w = start(serialization);
  assert.equal(await w.next(), 'ready');
  return w;
}

// stop sends the terminate message and checks that the worker exits with 0.
async function stop(w) {
  w.child.send(TERMINATE);
  assert.deepEqual(await w.exit, { code: 0, signal: null });
}

for (const serialization of ['json', 'advanced']) {
  describe(`worker() over ${serialization}`, { timeout: 60000 }, () => {
    it('answers calls with results, undefined as null', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'add', params: [2, 3] });
      assert.deepEqual(await w.next(), { id: 1, result: 5, error: null });
      w.child.send({ id: 'two', method: 'echo' }); // no params: echo(undefined)
      assert.deepEqual(await w.next(), { id: 'two', result: null, error: null });
      w.child.send({ id: 3, method: 'echo', params: [{ a: [1, 'é😀', null], b: true }] });
      assert.deepEqual(await w.next(), { id: 3, result: { a: [1, 'é😀', null], b: true }, error: null });
      await stop(w);
    });

    it('sends errors as objects with name, message, stack and own properties', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'fail', params: ['boom', 'E_BAD'] });
      const m = await w.next();
      assert.equal(m.id, 1);
      assert.equal(m.result, null);
      assert.equal(m.error.name, 'TypeError');
      assert.equal(m.error.message, 'boom');
      assert.equal(m.error.code, 'E_BAD');
      assert.match(m.error.stack, /^TypeError: boom\n {4}at /);

      w.child.send({ id: 2, method: 'failPlain', params: ['not an Error'] });
      const plain = await w.next();
      assert.equal(plain.error.name, 'Error');
      assert.equal(plain.error.message, 'not an Error');

      w.child.send({ id: 3, method: 'nope', params: [] });
      assert.equal((await w.next()).error.message, 'Unknown method "nope"');
      await stop(w);
    });

    it('lists its methods with the built-in "methods"', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'methods' });
      const m = await w.next();
      assert.ok(m.result.includes('add') && m.result.includes('progress'), `methods: ${m.result}`);
      assert.ok(!m.result.includes('methods'));
      await stop(w);
    });

    it("sends a call's events in order before its result", async () => {
      const w = await ready(serialization);
      w.child.send({ id: 7, method: 'progress', params: [3] });
      for (let i = 0; i < 3; i++) assert.deepEqual(await w.next(), { id: 7, isEvent: true, payload: { step: i } });
      assert.deepEqual(await w.next(), { id: 7, result: 'done', error: null });
      await stop(w);
    });

    it('runs calls concurrently', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'block' });
      assert.deepEqual(await w.next(), { id: 1, isEvent: true, payload: { blocked: true } });
      w.child.send({ id: 2, method: 'add', params: [1, 1] });
      assert.deepEqual(await w.next(), { id: 2, result: 2, error: null });
      w.child.send({ id: 1, method: CLEANUP });
      assert.deepEqual(await w.next(), { id: 1, method: CLEANUP, error: null });
      await stop(w);
    });

    it('aborts a cancelled call, drops its result and confirms once it settled', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'block' });
      assert.deepEqual(await w.next(), { id: 1, isEvent: true, payload: { blocked: true } });
      w.child.send({ id: 1, method: CLEANUP });
      // The method rejects on abort; only the confirmation comes back.
      assert.deepEqual(await w.next(), { id: 1, method: CLEANUP, error: null });
      w.child.send({ id: 2, method: 'cancelled' });
      assert.deepEqual(await w.next(), { id: 2, result: 1, error: null });
      // Cleanup of a call that is not running is confirmed at once.
      w.child.send({ id: 99, method: CLEANUP });
      assert.deepEqual(await w.next(), { id: 99, method: CLEANUP, error: null });
      await stop(w);
    });

    it('on terminate, aborts the calls in progress and exits 0 once they settled', async () => {
      const w = await ready(serialization);
      w.child.send({ id: 1, method: 'block' });
      assert.deepEqual(await w.next(), { id: 1, isEvent: true, payload: { blocked: true } });
      const after = [];
      w.child.on('message', (m) => after.push(m));
      await stop(w);
      assert.deepEqual(after, [], 'the aborted call must send no result');
    });

    it('exits 0 when the parent disconnects', async () => {
      const w = await ready(serialization);
      w.child.disconnect();
      assert.deepEqual(await w.exit, { code: 0, signal: null });
    });
  });
}

describe('worker() values', { timeout: 60000 }, () => {
  it('keep their JavaScript types over advanced serialization', async () => {
    const w = await ready('advanced');
    const value = { big: 10n ** 20n, map: new Map([[1, 'one']]), set: new Set(['s']), date: new Date(5), bytes: new Uint8Array([1, 2]), hole: [1, undefined] };
    w.child.send({ id: 1, method: 'echo', params: [value] });
    assert.deepEqual(await w.next(), { id: 1, result: value, error: null });
    w.child.send({ id: 2, method: 'bigint' });
    assert.deepEqual(await w.next(), { id: 2, result: 10n ** 20n, error: null });
    await stop(w);
  });

  it('fail the call when json cannot carry the result', async () => {
    const w = await ready('json');
    w.child.send({ id: 1, method: 'bigint' });
    const m = await w.next();
    assert.equal(m.id, 1);
    assert.equal(m.error.name, 'TypeError');
    assert.match(m.error.message, /BigInt/);
    // The worker stays in service.
    w.child.send({ id: 2, method: 'add', params: [1, 2] });
    assert.deepEqual(await w.next(), { id: 2, result: 3, error: null });
    await stop(w);
  });
});

describe('worker() without a channel', { timeout: 60000 }, () => {
  it('throws, naming what is missing', async () => {
    const r = await run(process.execPath, [nodeWorker]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /worker\(\) needs an IPC channel/);
  });
});
