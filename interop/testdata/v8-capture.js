'use strict';
// v8-capture.js: capture the exact payloads Node's advanced IPC
// serialization writes for a list of named values, for nodeipc's codec tests.
//
// Usage (one run per Node binary; --expose-internals is required):
//
//   node --expose-internals interop/testdata/v8-capture.js > nodeipc/testdata/v8/node20.json
//   node --expose-internals interop/testdata/v8-capture.js --check   # also compare with a real fork()
//   node --expose-internals interop/testdata/v8-capture.js --verify < pairs.json
//
// Output: {"node": "<version>", "values": {"<name>": "<hex payload>"}}; the
// payload starts at the FF header, without the 4-byte length prefix.
//
// Each payload comes from Node's own writeChannelMessage (the function
// child.send() calls in advanced mode). With --check the script also forks
// a python3 child that records what arrives on its IPC fd, and fails unless
// those bytes are identical (values send() refuses at top level are skipped).
//
// With --verify the script reads {"<name>": ["<node hex>", "<go hex>"]} on
// stdin, reads both payloads with Node's own IPC deserializer, and fails
// unless assert.deepStrictEqual holds for every pair: a value that went
// Node -> Go -> Node must arrive as Node -> Node would deliver it. A pair
// with an empty Node payload only checks that Node can read Go's bytes.

const { advanced } = require('internal/child_process/serialization');
const { fork } = require('child_process');

function values() {
  const v = {};
  v.str_ascii = 'str';
  v.str_empty = '';
  v.str_latin1 = 'é';
  v.str_two_byte = 'héllo €';
  v.str_emoji = '😀';
  v.str_lone_surrogate = '\ud800lone';
  v.str_lone_low = 'a\udc00';
  v.str_pad_array = ['€', 'a€', { k: '€' }];
  v.str_pad_odd = ['a', '€', { ab: 'ü€' }];
  v.str_long = 'x'.repeat(300);
  v.int_small = 42;
  v.int_neg = -7;
  v.int_max = 2 ** 31 - 1;
  v.int_min = -(2 ** 31);
  v.num_2p31 = 2 ** 31;
  v.num_frac = 1.5;
  v.num_neg_zero = -0;
  v.num_nan = NaN;
  v.num_inf = Infinity;
  v.num_ninf = -Infinity;
  v.num_1e21 = 1e21;
  v.bool_true = true;
  v.bool_false = false;
  v.null = null;
  v.undefined = undefined;
  v.bigints = [123n, -1n, 0n, 2n ** 64n, -(2n ** 100n)];
  v.object_ping = { id: 1, op: 'echo', payload: 'x' };
  v.object_int_keys = { b: 1, 2: 2, a: 3, 1: 4 };
  v.object_big_keys = { 4294967294: 1, 4294967295: 2, 2147483648: 3 };
  v.object_empty = {};
  v.object_nested = { a: { b: { c: [1, 'two', { d: null }] } }, e: undefined };
  v.array_dense = [1, 2, 3];
  v.array_empty = [];
  v.array_holey = [1, , 3];
  v.array_new3 = new Array(3);
  const sparse = [];
  sparse[1000000] = 1;
  v.array_sparse = sparse;
  const props = [1, 2];
  props.x = 'y';
  v.array_props = props;
  v.date_epoch = new Date(0);
  v.date_ms = new Date(1700000000123);
  v.date_invalid = new Date(NaN);
  v.regexp_g = /a/g;
  v.regexp_all = /x+y/dgimsy;
  v.regexp_u = /\u{1F600}/u;
  v.regexp_v = /[a--b]/v;
  v.map = new Map([[1, 'a'], ['k', {}], [{ x: 1 }, [1]]]);
  v.set = new Set([1, 'a', {}]);
  const ab = new ArrayBuffer(3);
  new Uint8Array(ab).set([1, 2, 3]);
  v.arraybuffer = ab;
  const rab = new ArrayBuffer(2, { maxByteLength: 8 });
  new Uint8Array(rab).set([7, 9]);
  v.arraybuffer_resizable = rab;
  v.buffer = Buffer.from('hi');
  v.buffer_subarray = Buffer.from('hello world').subarray(6);
  v.uint8array = new Uint8Array([1, 2, 3]);
  v.uint8clamped = new Uint8ClampedArray([0, 255]);
  v.int8array = new Int8Array([-1, 2]);
  v.int16array = new Int16Array([-2, 300]);
  v.uint16array = new Uint16Array([65535, 1]);
  v.int32array = new Int32Array([-1, 2 ** 31 - 1]);
  v.uint32array = new Uint32Array([2 ** 32 - 1]);
  v.float32array = new Float32Array([1.5, -2]);
  v.float64array = new Float64Array([1.5, -0]);
  v.bigint64array = new BigInt64Array([-1n, 5n]);
  v.biguint64array = new BigUint64Array([2n ** 64n - 1n]);
  v.dataview = new DataView(new Uint8Array([4, 5]).buffer);
  if (typeof Float16Array === 'function') v.float16array = new Float16Array([1.5, -2]);
  v.boxed = [new Boolean(true), new Boolean(false), new Number(1.5), new String('s'), Object(7n)];
  v.error = new Error('boom');
  v.error_no_message = new Error();
  v.error_range = new RangeError('out of range');
  v.error_type = new TypeError('bad type');
  v.error_cause = new Error('outer', { cause: { code: 42 } });
  v.error_null_cause = new Error('n', { cause: null });
  class MyError extends Error {}
  v.error_custom = new MyError('mine');
  const circ = {};
  circ.self = circ;
  v.circular_object = circ;
  const circArr = [];
  circArr.push(circArr);
  v.circular_array = circArr;
  const x = { n: 1 };
  v.shared_object = [x, x];
  const b = Buffer.from('z');
  v.shared_buffer = [b, b, {}];
  const m = new Map();
  m.set('me', m);
  v.circular_map = m;
  const s = new Set();
  s.add(s);
  v.circular_set = s;
  v.host_blob = new Blob([]);
  v.proto_key = JSON.parse('{"__proto__": 1, "a": 2}');
  const shared = { v: 1 };
  v.nested_shared = [new Map([[shared, new Set([shared])]]), shared];
  const two = new ArrayBuffer(8);
  new Uint8Array(two).set([1, 2, 3, 4, 5, 0, 6, 0]);
  v.views_one_buffer = [new Uint8Array(two, 0, 4), new Uint16Array(two, 4, 2)];
  v.error_in_object = { e: new TypeError('t'), m: 'x' };
  const sparseProps = [];
  sparseProps[5] = 1;
  sparseProps.k = 'v';
  v.sparse_props = sparseProps;
  v.map_neg_zero = new Map([[-0, -0]]);
  v.str_two_byte_long = '€'.repeat(1000);
  v.odd_keys = { '-1': 1, '1.5': 2, '': 3, '01': 4 };
  v.date_max = new Date(8.64e15);
  v.internal_ack = { cmd: 'NODE_HANDLE_ACK' };
  v.internal_prefix_only = { cmd: 'NODE_' };
  v.internal_later_key = { id: 1, cmd: 'NODE_X' };
  return v;
}

function payload(value) {
  let out;
  const channel = { writeBuffer(req, buf) { out = Buffer.from(buf); return 0; } };
  advanced.writeChannelMessage(channel, {}, value, null);
  const len = out.readUInt32BE(0);
  if (len !== out.length - 4) throw new Error(`length prefix ${len} for ${out.length - 4} bytes`);
  return out.subarray(4);
}

function capture(vals) {
  const out = {};
  for (const [name, value] of Object.entries(vals)) {
    out[name] = payload(value).toString('hex');
  }
  return out;
}

// check forks python3 as a raw reader, sends every value with child.send(),
// and compares the frames that arrive with the captured payloads.
function check(vals, captured) {
  const reader = [
    'import os, sys',
    'data = b""',
    'while True:',
    '    chunk = os.read(3, 1 << 16)',
    '    if not chunk: break',
    '    data += chunk',
    'sys.stdout.write(data.hex())',
  ].join('\n');
  const child = fork('-c', [reader], {
    execPath: 'python3', execArgv: [], serialization: 'advanced', stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let hex = '';
  child.stdout.on('data', (d) => { hex += d; });
  const sent = [];
  for (const [name, value] of Object.entries(vals)) {
    try {
      child.send(value);
      sent.push(name);
    } catch {
      // send() refuses top-level undefined and bigint; skip those.
    }
  }
  child.disconnect();
  child.on('exit', () => {
    let buf = Buffer.from(hex, 'hex');
    for (const name of sent) {
      const len = buf.readUInt32BE(0);
      const got = buf.subarray(4, 4 + len).toString('hex');
      if (got !== captured[name]) {
        process.stderr.write(`MISMATCH ${name}: fork ${got} capture ${captured[name]}\n`);
        process.exitCode = 1;
      }
      buf = buf.subarray(4 + len);
    }
    process.stderr.write(`checked ${sent.length} values against a real fork()\n`);
  });
}

function deserialize(hex) {
  const payload = Buffer.from(hex, 'hex');
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  const channel = {};
  advanced.initMessageChannel(channel);
  return [...advanced.parseChannelMessages(channel, frame)][0];
}

function verify() {
  const assert = require('assert');
  const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  let failed = 0;
  for (const [name, [nodeHex, goHex]] of Object.entries(pairs)) {
    // Identical bytes are the same value. (This also avoids a Node 20/22
    // quirk: deepStrictEqual fails on two Invalid Dates.)
    if (nodeHex === goHex) continue;
    try {
      const got = deserialize(goHex);
      if (nodeHex !== '') assert.deepStrictEqual(got, deserialize(nodeHex));
    } catch (err) {
      failed++;
      process.stderr.write(`${name}: ${err.message}\n`);
    }
  }
  process.stdout.write(`verified ${Object.keys(pairs).length - failed} of ${Object.keys(pairs).length}\n`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv.includes('--verify')) {
  verify();
  return;
}

const vals = values();
const captured = capture(vals);
process.stdout.write(JSON.stringify({ node: process.version, values: captured }, null, 1) + '\n');
if (process.argv.includes('--check')) check(vals, captured);
