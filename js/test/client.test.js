'use strict';
// fork() and Client against real workers: the Node worker
// (testdata/node-worker.js, written with worker()) and a Go worker
// (interop/testdata/goworker, nodeipc's Serve, built here with go build),
// in both serializations.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const { after, before, describe, it } = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');
const { fork, Client } = require('@nodeipc/node');
const { nodeWorker, missing, buildGoWorker } = require('../testdata/support.js');

const go = {};
before(() => Object.assign(go, buildGoWorker()));

// Every worker a test starts, killed at the end should a test fail or time
// out before it stopped the worker.
const started = new Set();
function track(c) {
  started.add(c);
  c.exited.then(() => started.delete(c));
  return c;
}
after(() => {
  for (const c of started) c.child.kill('SIGKILL');
  if (go.dir) fs.rmSync(go.dir, { recursive: true, force: true });
});

const kinds = {
  node: (options) => track(fork(process.execPath, [nodeWorker], options)),
  go: (options) => track(fork(go.bin, [], options)),
};

// startWith returns a function that starts a worker of kind, or skips test
// t (fails it in strict mode) when there is no Go toolchain.
function starter(kind, serialization) {
  return (t, options = {}) => {
    if (kind === 'go' && !go.bin) {
      missing(t, go.error);
      return null;
    }
    return kinds[kind]({ serialization, ...options });
  };
}

// eventually calls method on c until it returns want, a bounded number of
// times: for effects a worker has after the client moved on.
async function eventually(c, method, want) {
  let got;
  for (let i = 0; i < 200; i++) {
    got = await c.call(method);
    if (got === want) return;
    await sleep(10);
  }
  assert.equal(got, want, `${method}() never returned ${want}`);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the call resolved; want a rejection');
}

for (const kind of Object.keys(kinds)) {
  for (const serialization of ['json', 'advanced']) {
    describe(`fork() of a ${kind} worker over ${serialization}`, { timeout: 60000 }, () => {
      const start = starter(kind, serialization);

      it('resolves calls with their results', async (t) => {
        const c = start(t);
        if (!c) return;
        assert.ok(c.pid > 0);
        assert.equal(await c.call('add', [2, 3]), 5);
        const value = { a: [1, 'é😀', null, { b: false }], n: -1.5 };
        assert.deepEqual(await c.call('echo', [value]), value);
        assert.equal(await c.call('echo'), null);
        assert.equal(await c.call('pid'), c.pid);
        const many = await Promise.all(Array.from({ length: 50 }, (_, i) => c.call('echo', [i])));
        assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => i));
        assert.deepEqual(await c.close(), { code: 0, signal: null });
      });

      it("rejects with the worker's error rebuilt", async (t) => {
        const c = start(t);
        if (!c) return;
        const err = await rejection(c.call('fail', ['boom', 'E_BAD']));
        assert.ok(err instanceof TypeError, `${err} is not a TypeError`);
        assert.equal(err.name, 'TypeError');
        assert.equal(err.message, 'boom');
        assert.equal(err.code, 'E_BAD');
        assert.match(err.stack, /^TypeError: boom\n {4}at /);
        const plain = await rejection(c.call('failPlain', ['plain']));
        assert.equal(plain.constructor, Error);
        assert.equal(plain.message, 'plain');
        assert.equal((await rejection(c.call('nope'))).message, 'Unknown method "nope"');
        assert.ok((await c.call('methods')).includes('progress'));
        assert.deepEqual(await c.close(), { code: 0, signal: null });
      });

      it('delivers progress events in order before the result', async (t) => {
        const c = start(t);
        if (!c) return;
        const events = [];
        assert.equal(await c.call('progress', [3], { onEvent: (e) => events.push(e) }), 'done');
        assert.deepEqual(events, [{ step: 0 }, { step: 1 }, { step: 2 }]);
        await c.close();
      });

      it('cancels with a signal: rejects at once, the worker cleans up', async (t) => {
        const c = start(t);
        if (!c) return;
        const ac = new AbortController();
        const err = await rejection(c.call('block', [], { signal: ac.signal, onEvent: () => ac.abort() }));
        assert.equal(err.name, 'AbortError');
        await eventually(c, 'cancelled', 1);
        // A reason of the caller's own is what the call rejects with.
        const ac2 = new AbortController();
        const mine = new Error('mine');
        assert.equal(await rejection(c.call('block', [], { signal: ac2.signal, onEvent: () => ac2.abort(mine) })), mine);
        await eventually(c, 'cancelled', 2);
        // An aborted signal rejects without calling the worker.
        assert.equal((await rejection(c.call('block', [], { signal: AbortSignal.abort() }))).name, 'AbortError');
        assert.equal(await c.call('add', [1, 1]), 2);
        assert.equal(await c.call('cancelled'), 2);
        assert.deepEqual(await c.close(), { code: 0, signal: null });
      });

      it('cancels with a timeout', async (t) => {
        const c = start(t);
        if (!c) return;
        const err = await rejection(c.call('sleep', [60000, 'late'], { timeout: 50 }));
        assert.equal(err.name, 'TimeoutError');
        assert.equal(await c.call('sleep', [1, 'soon'], { timeout: 60000 }), 'soon');
        assert.deepEqual(await c.close(), { code: 0, signal: null });
      });

      it("rejects a crashed worker's calls, and every later one", async (t) => {
        const c = start(t, { stdio: 'ignore' });
        if (!c) return;
        assert.equal(await c.call('add', [1, 1]), 2);
        const err = await rejection(c.call('crash', [3]));
        assert.equal(err.code, 'ERR_WORKER_EXITED');
        assert.deepEqual(await c.exited, { code: 3, signal: null });
        assert.equal((await rejection(c.call('add', [1, 1]))).code, 'ERR_WORKER_EXITED');
        assert.deepEqual(await c.close(), { code: 3, signal: null });
      });

      it('close() lets the worker abort the calls in progress and exit', async (t) => {
        const c = start(t);
        if (!c) return;
        let blocked;
        const seen = new Promise((resolve) => { blocked = resolve; });
        const pending = rejection(c.call('block', [], { onEvent: blocked }));
        await seen;
        assert.deepEqual(await c.close(), { code: 0, signal: null });
        const err = await pending;
        // A Node worker drops the aborted call's result; a Go worker may
        // answer with its handler's error before it exits.
        if (kind === 'node' || err.code !== undefined) assert.equal(err.code, 'ERR_WORKER_EXITED');
        else assert.match(err.message, /context canceled/);
      });
    });
  }
}

describe('fork() of a Go worker', { timeout: 60000 }, () => {
  for (const serialization of ['json', 'advanced']) {
    it(`gives it the ${serialization} channel`, async (t) => {
      const c = starter('go', serialization)(t);
      if (!c) return;
      assert.equal(await c.call('serialization'), serialization);
      await c.close();
    });
  }
});

describe('fork() of a Node worker', { timeout: 60000 }, () => {
  const start = (options) => kinds.node(options);

  it('keeps JavaScript types over advanced serialization', async () => {
    const c = start({ serialization: 'advanced' });
    const value = { big: 10n ** 20n, map: new Map([[1, 'one']]), set: new Set(['s']), date: new Date(5), bytes: new Uint8Array([1, 2]), hole: [1, undefined] };
    assert.deepEqual(await c.call('echo', [value]), value);
    assert.deepEqual(await c.call('types', [new Map(), 1n]), ['[object Map]', '[object BigInt]']);
    await c.close();
  });

  it('rejects a call json cannot carry, and stays usable', async () => {
    const c = start({ serialization: 'json' });
    assert.equal(await c.call('add', [1, 2]), 3); // ready: the call is sent at once
    const err = await rejection(c.call('echo', [1n]));
    assert.equal(err.name, 'TypeError');
    assert.match(err.message, /BigInt/);
    // The same before "ready", when the call is sent from the queue.
    const c2 = start({ serialization: 'json' });
    assert.equal((await rejection(c2.call('echo', [1n]))).name, 'TypeError');
    assert.equal(await c2.call('add', [2, 2]), 4);
    assert.equal(await c.call('add', [1, 1]), 2);
    await Promise.all([c.close(), c2.close()]);
  });

  it('never sends a call cancelled before the worker was ready', async () => {
    const c = start();
    const ac = new AbortController();
    const p = rejection(c.call('block', [], { signal: ac.signal }));
    ac.abort();
    assert.equal((await p).name, 'AbortError');
    assert.equal(await c.call('cancelled'), 0);
    await c.close();
  });

  it('close() escalates to SIGTERM, then SIGKILL', async () => {
    const c = start();
    c.call('stubborn', [false]).catch(() => {});
    assert.equal(await c.call('add', [1, 1]), 2); // stubborn is running
    assert.deepEqual(await c.close({ stopTimeout: 100 }), { code: null, signal: 'SIGTERM' });

    const c2 = start();
    c2.call('stubborn', [true]).catch(() => {});
    assert.equal(await c2.call('add', [1, 1]), 2); // the SIGTERM handler is installed
    assert.deepEqual(await c2.close({ stopTimeout: 100, killTimeout: 100 }), { code: null, signal: 'SIGKILL' });
  });

  it('wraps a child started with child_process.fork in new Client()', async () => {
    const c = track(new Client(childProcess.fork(nodeWorker, [], { serialization: 'advanced' })));
    assert.deepEqual(await c.call('echo', [new Set([1])]), new Set([1]));
    assert.deepEqual(await c.close(), { code: 0, signal: null });
    const noChannel = childProcess.spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    assert.throws(() => new Client(noChannel), TypeError);
    await new Promise((resolve) => noChannel.on('exit', resolve));
  });
});

describe('fork() of a program that cannot start', { timeout: 60000 }, () => {
  it('rejects its calls with the spawn error', async () => {
    const c = fork('/nonexistent/nodeipc-worker');
    assert.equal(c.pid, undefined);
    assert.equal((await rejection(c.call('add', [1, 1]))).code, 'ENOENT');
    const status = await c.exited;
    assert.equal(status.error.code, 'ENOENT');
    assert.equal((await rejection(c.call('add', [1, 1]))).code, 'ENOENT');
  });
});

describe('JavaScript values through a worker, advanced serialization', { timeout: 60000 }, () => {
  for (const kind of Object.keys(kinds)) {
    it(`${kind} worker: Maps with BigInt keys, Dates, typed arrays, holes, cycles and property order come back as sent`, async (t) => {
      const c = starter(kind, 'advanced')(t);
      if (!c) return;
      const inner = { y: 1, x: 2, 10: 'ten', 2: 'two' };
      const value = {
        b: 1,
        a: 2,
        z: inner,
        map: new Map([[1n, 'one'], [2n ** 70n, { q: 1, p: 2 }], ['k', [inner]]]),
        date: new Date(5),
        bytes: new Uint8Array([1, 2, 3]),
        f64: new Float64Array([1.5, -0]),
        set: new Set(['s', 1n]),
        hole: [1, , 3], // eslint-disable-line no-sparse-arrays
      };
      value.self = value;
      const got = await c.call('echo', [value]);
      assert.deepStrictEqual(got, value);
      assert.equal(got.self, got, 'the cycle is one object again');
      assert.deepEqual(Object.keys(got), Object.keys(value));
      assert.deepEqual(Object.keys(got.z), ['2', '10', 'y', 'x']);
      assert.deepEqual(Object.keys(got.map.get(2n ** 70n)), ['q', 'p']);
      assert.deepEqual(Object.keys(got.map.get('k')[0]), ['2', '10', 'y', 'x']);
      assert.equal(1 in got.hole, false, 'the hole is still a hole');
      await c.close();
    });
  }
});
