// keyorder.js checks that values keep their JavaScript shape, key order
// included, through peers that sit in the middle of a channel.
//
//   node keyorder.js SPEC     the parent
//   node keyorder.js --echo   a Node echo child (the reference)
//
// SPEC is JSON: {serialization: 'json' | 'advanced', seed, count, peers:
// [{name, how: 'fork' | 'spawn', file, args, execPath, execArgv}],
// noSharing: leave out the values that hold an object twice}. The
// parent makes a fixed set of values chosen for key order (integer-like
// keys, nested objects, objects inside arrays and Maps) and `count` random
// ones from `seed`, sends them all through a Node echo child to get the
// reference replies, then through each peer, and compares every reply with
// the reference: the same types, values and key order (Object.keys, Map
// and Set order). It prints one JSON line: {compared, mismatches: [...]}.
'use strict';

const {fork, spawn} = require('node:child_process');

if (process.argv[2] === '--echo') {
  process.on('message', (m) => process.send(m));
  return;
}

const spec = JSON.parse(process.argv[2]);
const advanced = spec.serialization === 'advanced';

// A small seeded PRNG (mulberry32), so a failure can be replayed.
let state = spec.seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

// Keys that exercise JavaScript's order: array indices (ascending first),
// look-alikes that are not (insertion order), and plain names.
const KEYS = ['b', 'a', 'z', '0', '1', '2', '10', '9', '4294967294', '4294967295', '01', '-1', '1.5', '', 'é', 'cmd', ' 1', 'key with space', '$js'];

function randString() {
  return pick(['', 'x', 'héllo', '€uro', '😀', 'line\nbreak', 'quote"back\\', '\u2028', 'NODE_', 'a'.repeat(1 + Math.floor(rand() * 40))]);
}

function randPrimitive() {
  const r = rand();
  if (r < 0.2) return randString();
  if (r < 0.45) return pick([0, 1, -1, 255, 256, 1.5, -0.25, 2 ** 31, 2 ** 53 - 1, 1e21, 1e-7, 123456.789]);
  if (r < 0.55) return pick([true, false]);
  if (r < 0.6) return null;
  if (!advanced) return randString();
  return pick([undefined, NaN, -0, Infinity, 10n ** 20n, -5n, new Date(1700000000123), /a+b/gi, Buffer.from('hi'), new Uint16Array([1, 65535])]);
}

function randObject(depth) {
  const o = {};
  const n = Math.floor(rand() * 7);
  for (let i = 0; i < n; i++) {
    const k = pick(KEYS);
    o[k] = randValue(depth + 1);
  }
  return o;
}

function randValue(depth) {
  const r = rand();
  if (depth > 3 || r < 0.35) return randPrimitive();
  if (r < 0.65) return randObject(depth);
  if (r < 0.85 || !advanced) {
    const a = [];
    const n = Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) a.push(randValue(depth + 1));
    if (advanced && n > 2 && rand() < 0.3) delete a[1]; // a hole
    return a;
  }
  if (r < 0.95) {
    const m = new Map();
    const n = Math.floor(rand() * 4);
    for (let i = 0; i < n; i++) m.set(rand() < 0.5 ? pick(KEYS) : randObject(depth + 1), randValue(depth + 1));
    return m;
  }
  return new Set([randValue(depth + 1), randPrimitive()]);
}

// The fixed values: each names the shape it checks.
function fixedValues() {
  const vals = [
    {b: 1, a: 2, z: {y: 1, x: 2}},
    {b: 1, 2: 'two', a: 3, 1: 'one', 10: 'ten', 9: 'nine'},
    {x: 1, 4294967295: 'not an index', 4294967294: 'the last index', '01': 'no', '-1': 'no', 0: 'first'},
    [{q: 1, p: 2}, [{d: 1, c: {f: 1, e: 2}}], 'x'],
    JSON.parse('{"__proto__": {"b": 1, "a": 2}, "k": 1}'),
    {cmd: 'not internal', z: 1, a: 2},
    {'$js': 'Map', entries: [[1, 2]]}, // a real object that looks like a tag
    {},
    [],
  ];
  if (advanced) {
    vals.push(
      new Map([[{b: 1, a: 2}, {d: 1, c: 2}], ['k', [{y: 1, x: 2}]], [3n, new Map([[{2: 'b', 1: 'a', z: 0}, 1]])]]),
      new Set([{b: 1, a: 2}, [{d: 1, c: 2}]]),
      {m: new Map([[10n ** 30n, {n: 1, m: 2}]]), d: new Date(0), big: 7n, u: undefined, h: [1, , 3]},
    );
    const withProps = [1, 2];
    withProps.z = 'last';
    withProps.a = 'first';
    vals.push(withProps);
    if (!spec.noSharing) {
      const shared = {b: 1, a: 2};
      vals.push({z: shared, y: [shared]});
      const cyc = {b: 1, a: 2};
      cyc.self = cyc;
      vals.push({z: cyc, y: [cyc]});
    }
  }
  return vals;
}

// describe turns a value into a JSON-able description that differs for
// any difference JavaScript can observe here: types, values (-0 and NaN
// included), key order, Map and Set order, holes, and shared or circular
// objects (as back references).
function describe(v, seen = new Map()) {
  if (v === null) return ['null'];
  switch (typeof v) {
    case 'undefined':
      return ['undefined'];
    case 'number':
      return ['number', Object.is(v, -0) ? '-0' : String(v)];
    case 'bigint':
      return ['bigint', v.toString()];
    case 'string':
    case 'boolean':
      return [typeof v, v];
  }
  if (seen.has(v)) return ['ref', seen.get(v)];
  seen.set(v, seen.size);
  if (Array.isArray(v)) {
    const els = [];
    for (let i = 0; i < v.length; i++) els.push(i in v ? describe(v[i], seen) : ['hole']);
    const props = Object.keys(v).filter((k) => !/^(0|[1-9][0-9]*)$/.test(k) || Number(k) >= v.length);
    return ['array', els, props.map((k) => [k, describe(v[k], seen)])];
  }
  if (v instanceof Map) return ['Map', [...v].map(([k, x]) => [describe(k, seen), describe(x, seen)])];
  if (v instanceof Set) return ['Set', [...v].map((x) => describe(x, seen))];
  if (v instanceof Date) return ['Date', v.getTime()];
  if (v instanceof RegExp) return ['RegExp', v.source, v.flags];
  if (ArrayBuffer.isView(v)) return [v.constructor.name, Array.from(v, String)];
  return ['object', Object.keys(v).map((k) => [k, describe(v[k], seen)])];
}

// roundTrip sends every value to a child and resolves with its replies.
function roundTrip(peer, values) {
  return new Promise((resolve, reject) => {
    const opts = {serialization: spec.serialization, stdio: ['ignore', 'inherit', 'pipe', 'ipc']};
    const child = peer.how === 'spawn'
      ? spawn(peer.file, peer.args || [], opts)
      : fork(peer.file, peer.args || [], {...opts, execPath: peer.execPath, execArgv: peer.execArgv || []});
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const replies = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${peer.name}: no answer in time (${replies.length} of ${values.length}); stderr: ${stderr}`));
    }, 60000);
    child.on('message', (m) => {
      replies.push(m);
      if (replies.length === values.length) child.disconnect();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (replies.length !== values.length) {
        reject(new Error(`${peer.name}: exited (${code} ${signal}) after ${replies.length} of ${values.length} replies; stderr: ${stderr}`));
        return;
      }
      resolve(replies);
    });
    for (const v of values) child.send(v);
  });
}

async function main() {
  const values = fixedValues();
  // process.send takes objects, strings, numbers and booleans.
  for (let i = 0; i < spec.count; i++) values.push(rand() < 0.7 ? randObject(0) : [randValue(1), randValue(1)]);
  const reference = await roundTrip({name: 'node', how: 'fork', file: __filename, args: ['--echo']}, values);
  const want = reference.map((r) => JSON.stringify(describe(r)));
  const result = {compared: 0, mismatches: []};
  for (const peer of spec.peers) {
    const got = await roundTrip(peer, values);
    for (let i = 0; i < values.length; i++) {
      const g = JSON.stringify(describe(got[i]));
      result.compared++;
      if (g !== want[i]) result.mismatches.push({peer: peer.name, index: i, got: g, want: want[i]});
    }
  }
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});
