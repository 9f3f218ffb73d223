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
// It prints one JSON line: {replies, code, signal, stdout, stderr, errors},
// and exits 0, unless the channel crashes it (as bad input from a child
// would) or the child takes longer than 20 seconds (then it is killed).
'use strict';

const {fork, spawn} = require('node:child_process');

const spec = JSON.parse(process.argv[2]);
let child;
if (spec.how === 'fork') {
  child = fork(spec.file, spec.args || [], {
    execPath: spec.execPath,
    execArgv: spec.execArgv || [],
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
} else {
  const ipcIndex = spec.ipcIndex === undefined ? 3 : spec.ipcIndex;
  const stdio = [];
  for (let i = 0; i < Math.max(3, ipcIndex + 1); i++) stdio.push(i === ipcIndex ? 'ipc' : 'pipe');
  child = spawn(spec.file, spec.args || [], {stdio});
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

for (const m of spec.send || []) child.send(m);
maybeDisconnect();
