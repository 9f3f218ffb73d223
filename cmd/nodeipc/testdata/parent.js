// parent.js is the Node parent of the `nodeipc echo` and `nodeipc bridge`
// tests. argv[2] is a JSON spec:
//   how:        'fork' or 'spawn'
//   file, args: fork(file, args, ...) or spawn(file, args, ...)
//   execPath, execArgv: fork options
//   ipcIndex:   spawn: the stdio index of 'ipc' (default 3)
//   send:       messages to send at once
//   expect:     how many messages to wait for before disconnecting
//   disconnect: whether to disconnect after `expect` messages
//   kill:       a signal to send the child after `expect` messages
//   serialization: 'json' (default) or 'advanced'
//   advancedEcho: send advancedValues() and expect them back unchanged
//               (assert.deepStrictEqual; a mismatch is reported in errors)
// It prints one JSON line: {replies, code, signal, stdout, stderr, errors},
// and exits 0, unless the channel crashes it (as bad input from a child
// would) or the child takes longer than 20 seconds (then it is killed).
'use strict';

const {fork, spawn} = require('node:child_process');
const assert = require('node:assert');

// Values JSON cannot carry, for advanced mode.
function advancedValues() {
  return [
    {map: new Map([[1, 'a'], ['k', {v: [1n]}]]), set: new Set(['x', 2])},
    {big: 2n ** 70n, date: new Date('2026-11-27T10:00:00.005Z'), nan: NaN, neg: -0, u: undefined},
    {buf: Buffer.from('hi'), u8: new Uint8Array([1, 2]), f64: new Float64Array([1.5]), re: /a+/gi},
    {err: new RangeError('too far'), sparse: [1, , 3], lone: '\ud800x'},
  ];
}

const spec = JSON.parse(process.argv[2]);
let child;
if (spec.how === 'fork') {
  child = fork(spec.file, spec.args || [], {
    serialization: spec.serialization,
    execPath: spec.execPath,
    execArgv: spec.execArgv || [],
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
} else {
  const ipcIndex = spec.ipcIndex === undefined ? 3 : spec.ipcIndex;
  const stdio = [];
  for (let i = 0; i < Math.max(3, ipcIndex + 1); i++) stdio.push(i === ipcIndex ? 'ipc' : 'pipe');
  child = spawn(spec.file, spec.args || [], {stdio, serialization: spec.serialization});
}

const result = {replies: [], code: null, signal: null, stdout: '', stderr: '', errors: []};
if (child.stdout) child.stdout.on('data', (d) => { result.stdout += d; });
if (child.stderr) child.stderr.on('data', (d) => { result.stderr += d; });
child.on('error', (err) => result.errors.push(String(err)));

const timer = setTimeout(() => {
  result.errors.push('timeout: killing the child');
  child.kill('SIGKILL');
}, 20000);

function maybeDisconnect() {
  if (spec.kill && result.replies.length === spec.expect) child.kill(spec.kill);
  if (spec.disconnect && result.replies.length >= (spec.expect || 0) && child.connected) {
    child.disconnect();
  }
}
child.on('message', (m) => {
  result.replies.push(m);
  maybeDisconnect();
});
// Print once the child has exited and its output has been read. (Not on
// 'close': in Node 20 it does not fire after the parent's own disconnect().)
let pending = 1 + (child.stdout ? 1 : 0) + (child.stderr ? 1 : 0);
function done() {
  if (--pending > 0) return;
  clearTimeout(timer);
  console.log(JSON.stringify(result));
}
if (child.stdout) child.stdout.on('close', done);
if (child.stderr) child.stderr.on('close', done);
child.on('exit', (code, signal) => {
  result.code = code;
  result.signal = signal;
  done();
});

if (spec.advancedEcho) {
  const values = advancedValues();
  spec.expect = values.length;
  child.on('message', () => {
    if (result.replies.length !== values.length) return;
    values.forEach((v, i) => {
      try {
        assert.deepStrictEqual(result.replies[i], v);
      } catch (err) {
        result.errors.push(`value ${i} changed: ${err.message}`);
      }
    });
    // Make the replies printable as JSON.
    result.replies = result.replies.map((r) => Object.keys(r));
  });
  values.forEach((v) => child.send(v));
}
for (const m of spec.send || []) child.send(m);
maybeDisconnect();
