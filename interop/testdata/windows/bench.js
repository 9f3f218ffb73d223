'use strict';
// The Wine benchmark's Node parent: it starts an echo child, Node's own
// (child.js echo) or a Go one (EXE ARGS...), and measures round trips and
// throughput. Usage:
//   node bench.js SERIALIZATION node
//   node bench.js SERIALIZATION go EXE [ARGS...]
// Prints one JSON line: {"rtMicros": ..., "msgsPerSec": ...}.
const { fork, spawn } = require('child_process');
const path = require('path');

const [serialization, kind, exe, ...args] = process.argv.slice(2);
const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
const child = kind === 'node'
  ? fork(path.join(__dirname, 'child.js'), ['echo'], { serialization, stdio })
  : spawn(exe, args, { serialization, stdio });

let onMessage = null;
child.on('message', (m) => onMessage(m));

function roundTrips(n) {
  return new Promise((resolve) => {
    let i = 0;
    onMessage = () => {
      if (++i === n) resolve();
      else child.send({ i });
    };
    child.send({ i });
  });
}

function pipelined(n, window) {
  const pad = 'x'.repeat(200);
  return new Promise((resolve) => {
    let sent = 0;
    let got = 0;
    const more = () => {
      while (sent < n && sent - got < window) child.send({ i: sent++, pad });
    };
    onMessage = () => {
      if (++got === n) resolve();
      else more();
    };
    more();
  });
}

async function main() {
  await roundTrips(100); // warm up
  const rtN = 1000;
  let t = process.hrtime.bigint();
  await roundTrips(rtN);
  const rtMicros = Number(process.hrtime.bigint() - t) / 1e3 / rtN;
  await pipelined(500, 200);
  const n = 5000;
  t = process.hrtime.bigint();
  await pipelined(n, 200);
  const msgsPerSec = n / (Number(process.hrtime.bigint() - t) / 1e9);
  console.log(JSON.stringify({ rtMicros, msgsPerSec }));
  child.disconnect();
}

main().catch((e) => { console.error(e); process.exit(1); });
