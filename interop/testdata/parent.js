'use strict';
// A Node parent for the interop tests: it forks a Go child (the interop test
// binary, picked by NODEIPC_TEST_HELPER) and runs one scenario against it.
// It prints "ok <detail>" and exits 0 when every assertion holds, or exits 1
// with the failure on stderr.
//
//   node parent.js <scenario> <go-binary> [json|advanced]
const { fork, spawn } = require('node:child_process');
const assert = require('node:assert/strict');

const [scenario, goBin, serialization = 'json'] = process.argv.slice(2);

function start(helper, opts = {}) {
  const env = { ...process.env, NODEIPC_TEST_HELPER: helper };
  if (opts.stdio) {
    return spawn(goBin, [], { env, stdio: opts.stdio, serialization });
  }
  // fork() passes a module path as argv[1]; the Go child must tolerate it.
  return fork('ignored-module-path.js', ['arg'], { execPath: goBin, execArgv: [], env, serialization });
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

// collect resolves with the next n messages.
function collect(child, n) {
  return new Promise((resolve) => {
    const got = [];
    const on = (m) => {
      got.push(m);
      if (got.length === n) {
        child.off('message', on);
        resolve(got);
      }
    };
    child.on('message', on);
  });
}

function watchInternal(child) {
  const seen = [];
  child.on('message', (m) => {
    if (m && typeof m === 'object' && typeof m.cmd === 'string' && m.cmd.startsWith('NODE_') && m.cmd.length > 5) {
      seen.push(m);
    }
  });
  return seen;
}

// advValues: one of every kind of value advanced serialization carries,
// each wrapped in an object (a top-level bigint cannot be sent).
function advValues() {
  const circular = { name: 'o' };
  circular.self = circular;
  const shared = { s: 1 };
  const sparse = [];
  sparse[10] = 'ten';
  const withProps = [1, 2];
  withProps.extra = 'prop';
  const values = {
    nullish: [null, [undefined], { u: undefined }],
    booleans: [true, false],
    numbers: [0, -0, 42, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1.5, -1e300, 5e-324, NaN, Infinity, -Infinity],
    strings: ['', 'str', 'é', 'ÿ', '€😀', '\ud800lone', 'a\udc00', 'x'.repeat(1000), 'ü'.repeat(1001)],
    object: { a: 1, b: 'two', 3: 'three', 10: 'ten', nested: { deep: [1, 2, { x: null }] } },
    arrays: [[1, 2, 3], [1, , 3], sparse, withProps, []],
    dates: [new Date(0), new Date('2026-11-27T10:00:00.005Z'), new Date(8.64e15)],
    regexps: [/ab+c/gi, /x/msuy, /d/d, /s/s],
    map: new Map([[1, 'a'], ['k', { v: 1 }], [{ o: 1 }, [2]], [NaN, null]]),
    set: new Set([1, 'a', { b: 2 }, -0]),
    bigints: [123n, -1n, 0n, 2n ** 100n, -(2n ** 64n)],
    buffers: [Buffer.from('hello'), Buffer.alloc(0), new Uint8Array([1, 2, 3]), new Uint8ClampedArray([255, 0])],
    typed: [
      new Int8Array([-1, 127]), new Int16Array([-2]), new Uint16Array([65535]), new Int32Array([-3]),
      new Uint32Array([4294967295]), new Float32Array([1.5]), new Float64Array([NaN, -0, 2.5]),
      new BigInt64Array([-1n]), new BigUint64Array([2n ** 64n - 1n]),
    ],
    views: [new DataView(new ArrayBuffer(4)), new ArrayBuffer(8), new ArrayBuffer(2, { maxByteLength: 8 })],
    boxed: [new Boolean(false), new Number(3), new String('s'), Object(5n)],
    errors: [new Error('boom'), new RangeError('range'), new TypeError('t', { cause: new Error('c') }), new SyntaxError('s'), new EvalError('e'), new URIError('u'), new ReferenceError('r')],
    circular,
    shared: [shared, shared],
  };
  return values;
}

const scenarios = {
  // 100k messages each way, order and content kept.
  async order() {
    const child = start('echo');
    const n = 100000;
    const p = collect(child, n);
    for (let i = 0; i < n; i++) child.send({ i, s: 'm' + i });
    const got = await p;
    got.forEach((m, i) => assert.deepEqual(m, { i, s: 'm' + i }));
    child.disconnect();
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, 'echo exits 0 when the parent disconnects');
    return `${n} in order`;
  },

  // Multi-byte characters split across reads, U+2028/U+2029, escaped lone
  // surrogates: through Go values, and raw.
  async strings() {
    const values = [
      'ß'.repeat(200000),
      'line\u2028sep\u2029para',
      { nested: ['€', '😀', 'ü'.repeat(70000)] },
    ];
    for (const helper of ['echo', 'echo-raw']) {
      const child = start(helper);
      const p = collect(child, values.length);
      values.forEach((v) => child.send(v));
      assert.deepEqual(await p, values, helper);
      child.disconnect();
      assert.equal((await once(child, 'exit'))[0], 0);
    }
    // A lone surrogate survives raw forwarding byte for byte.
    const raw = start('echo-raw');
    const lone = ['\ud800lone', { k: '\udfff' }];
    const p = collect(raw, lone.length);
    lone.forEach((v) => raw.send(v));
    assert.deepEqual(await p, lone);
    raw.disconnect();
    assert.equal((await once(raw, 'exit'))[0], 0);
    return 'strings intact';
  },

  // A 50 MB message each way.
  async big() {
    const child = start('echo');
    const big = 'x'.repeat(25e6) + 'é'.repeat(12.5e6); // 50 MB of UTF-8
    const p = collect(child, 1);
    child.send({ big });
    const [m] = await p;
    assert.equal(m.big.length, big.length);
    assert.ok(m.big === big, '50 MB string came back equal');
    child.disconnect();
    assert.equal((await once(child, 'exit'))[0], 0);
    return '50 MB both ways';
  },

  // NODE_* messages never reach the other side's user path, either way.
  async internal() {
    const child = start('echo');
    const internal = watchInternal(child);
    const internalEvents = [];
    child.on('internalMessage', (m) => internalEvents.push(m));
    const p = collect(child, 3);
    child.send({ cmd: 'NODE_INTEROP_TEST', secret: 1 }); // internal: Go must not echo it
    child.send({ cmd: 'NODE_' }); // exactly the prefix: a user message
    child.send({ cmd: 'node_lower' });
    child.send({ after: true });
    const got = await p;
    assert.deepEqual(got, [{ cmd: 'NODE_' }, { cmd: 'node_lower' }, { after: true }]);
    assert.equal(internal.length, 0);
    child.disconnect();
    assert.equal((await once(child, 'exit'))[0], 0);
    return `internal filtered (${internalEvents.length} internal events)`;
  },

  // The Go child's environment and its grandchild's.
  async env() {
    const child = start('envcheck');
    const [report] = await collect(child, 1);
    assert.equal(report.fd, '', 'NODE_CHANNEL_FD removed');
    assert.equal(report.mode, '', 'NODE_CHANNEL_SERIALIZATION_MODE removed');
    assert.equal(report.grandchild, 'vars=false,false sockets=[]');
    assert.equal((await once(child, 'exit'))[0], 0);
    return 'no channel leaks to the grandchild';
  },

  // The Go side disconnects: Node emits 'disconnect' and sees every message.
  async goDisconnects() {
    const child = start('reply-and-disconnect');
    const disc = once(child, 'disconnect');
    const p = collect(child, 1);
    child.send({ please: 'disconnect' });
    assert.deepEqual(await p, [{ bye: { please: 'disconnect' } }]);
    await disc;
    assert.equal(child.connected, false);
    assert.equal((await once(child, 'exit'))[0], 0);
    return 'disconnect event';
  },

  // A Go child that sends N messages and exits at once delivers all N.
  async burstExit() {
    const child = start('burst');
    const exited = once(child, 'exit');
    const closed = once(child, 'close'); // waits for the channel to drain
    let n = 0;
    let bad = 0;
    child.on('message', (m) => {
      if (m.i !== n) bad++;
      n++;
    });
    const [code] = await exited;
    await closed;
    assert.equal(code, 0);
    assert.equal(bad, 0);
    assert.equal(n, 50000);
    return `${n} delivered`;
  },

  // Advanced serialization: every kind of value, Node -> Go -> Node, compared
  // with deepStrictEqual, through Go values and forwarded raw.
  async advEcho() {
    assert.equal(serialization, 'advanced');
    const values = advValues();
    for (const helper of ['echo', 'echo-raw']) {
      const child = start(helper);
      const names = Object.keys(values);
      const p = collect(child, names.length + 1);
      for (const name of names) child.send({ name, value: values[name] });
      child.send({ name: 'invalidDate', value: new Date(NaN) });
      const got = await p;
      for (let i = 0; i < names.length; i++) {
        assert.equal(got[i].name, names[i]);
        assert.deepStrictEqual(got[i].value, values[names[i]], `${helper}: ${names[i]}`);
      }
      // deepStrictEqual cannot compare two Invalid Dates on every version.
      const inv = got[names.length].value;
      assert.ok(inv instanceof Date && Number.isNaN(inv.getTime()), 'invalid date');
      assert.ok(got.find((m) => m.name === 'circular').value.self === got.find((m) => m.name === 'circular').value);
      const sh = got.find((m) => m.name === 'shared').value;
      assert.ok(sh[0] === sh[1], 'shared object stays shared');
      child.disconnect();
      assert.equal((await once(child, 'exit'))[0], 0);
    }
    return 'every tag round-tripped';
  },

  // Four 8 MB Uint8Arrays from the Go child, and ten 65,521-byte Buffers
  // whose length fields straddle reads, both ways.
  async advLarge() {
    assert.equal(serialization, 'advanced');
    const child = start('adv-large');
    const got = await collect(child, 14);
    for (let i = 0; i < 4; i++) {
      const u = got[i];
      assert.ok(u instanceof Uint8Array && !Buffer.isBuffer(u), 'a Uint8Array, not a Buffer');
      assert.equal(u.length, 8 * 1024 * 1024);
      for (let j = 0; j < u.length; j += 4093) assert.equal(u[j], (i + j) & 0xff);
    }
    for (let i = 0; i < 10; i++) {
      const b = got[4 + i];
      assert.ok(Buffer.isBuffer(b));
      assert.equal(b.length, 65521);
      assert.equal(b[0], i);
      assert.equal(b[65520], i);
    }
    // And back: ten Buffers to the Go child, which reports their sizes.
    const sizes = collect(child, 1);
    for (let i = 0; i < 10; i++) child.send(Buffer.alloc(65521, i));
    assert.deepStrictEqual(await sizes, [{ buffers: 10, bytes: 655210 }]);
    child.disconnect();
    assert.equal((await once(child, 'exit'))[0], 0);
    return '4 x 8 MB and 10 x 65,521 B';
  },

  // spawn() with 'ipc' at other stdio indexes.
  async stdio() {
    const layouts = [
      ['ipc', 'inherit', 'inherit'],
      ['pipe', 'inherit', 'inherit', 'ipc'],
      ['pipe', 'pipe', 'inherit', 'ignore', 'ipc'],
    ];
    for (const stdio of layouts) {
      const child = start('echo', { stdio });
      const p = collect(child, 1);
      child.send({ layout: stdio.indexOf('ipc') });
      assert.deepEqual(await p, [{ layout: stdio.indexOf('ipc') }]);
      child.disconnect();
      assert.equal((await once(child, 'exit'))[0], 0);
    }
    return 'fd 0, 3 and 4';
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
// If the scenario's promises can never settle, Node would exit 0 quietly;
// make that a failure.
process.on('exit', (code) => {
  if (code === 0 && !finished) {
    console.error('scenario never finished');
    process.exitCode = 1;
  }
});
let finished = false;
run().then(
  (detail) => {
    finished = true;
    console.log(`ok ${detail}`);
  },
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
