'use strict';
// A Node parent for the Wine suite: it spawns a Windows Go child (a helper
// of the test binary, or `nodeipc echo`) with an IPC channel and checks what
// comes back. Usage:
//   node [--expose-internals] parent.js SERIALIZATION SCENARIO EXE [ARGS...]
// It prints "ok" and exits 0 when every check passed; otherwise it says
// what failed and exits 1.
const { spawn } = require('child_process');

const [serialization, scenario, exe, ...args] = process.argv.slice(2);
const child = spawn(exe, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });

function fail(why) {
  console.error(`parent.js ${serialization} ${scenario}: ${why}`);
  child.kill();
  process.exit(1);
}
const timer = setTimeout(() => fail('timed out'), 60000);

// next returns a promise of the child's next message.
const queue = [];
let waiting = null;
child.on('message', (m) => {
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(m);
  } else queue.push(m);
});
function next() {
  if (queue.length) return Promise.resolve(queue.shift());
  return new Promise((resolve) => { waiting = resolve; });
}
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
const disconnected = new Promise((resolve) => child.on('disconnect', resolve));

// same compares values, not key order (a Go echo may sort keys).
const same = require('util').isDeepStrictEqual;

async function roundTrips() {
  for (let i = 0; i < 50; i++) {
    const m = { i, s: 'héllo ✓ \u2028', list: [1, 2.5, null, true], nested: { deep: [i] } };
    child.send(m);
    const got = await next();
    if (!same(got, m)) fail(`echo ${i}: got ${JSON.stringify(got)}`);
  }
  // 1 MB each way: one message, one frame, read in pieces.
  const big = 'x'.repeat(1 << 20);
  child.send({ big });
  const got = await next();
  if (!got || got.big !== big) fail(`1 MB echo: got ${got && got.big ? got.big.length : JSON.stringify(got)} chars`);
}

async function main() {
  switch (scenario) {
    case 'echo': {
      // Round trips, then the parent disconnects: the child must exit 0.
      await roundTrips();
      child.disconnect();
      const { code } = await exited;
      if (code !== 0) fail(`child exit code ${code} after disconnect`);
      break;
    }
    case 'child-disconnects': {
      // The child answers "bye" and disconnects: 'disconnect' fires here.
      await roundTrips();
      child.send('bye');
      const got = await next();
      if (!same(got, { bye: 'bye' })) fail(`bye: got ${JSON.stringify(got)}`);
      // 'disconnect' must come; it may come after 'exit'.
      const [{ code }] = await Promise.all([exited, disconnected]);
      if (code !== 0) fail(`child exit code ${code}`);
      break;
    }
    case 'hostile': {
      // Bad payloads, each in a valid libuv frame, written raw to the
      // channel: the child reports each and keeps the good messages.
      const { internalBinding } = require('internal/test/binding');
      const { WriteWrap } = internalBinding('stream_wrap');
      const sym = Object.getOwnPropertySymbols(child).find((s) => s.description === 'kChannelHandle');
      const h = child[sym];
      const raw = (bytes) => {
        const req = new WriteWrap();
        req.oncomplete = () => {};
        if (h.writeBuffer(req, Buffer.from(bytes, 'latin1')) !== 0) fail('raw write failed');
      };
      raw('{"n":1}\nnot json\n{"n":2}\n\n');
      raw('{"n":3}\n"\xff"\n{"n":');
      raw('4}\n');
      child.send('report');
      const got = await next();
      const want = ['msg 1', 'bad invalid', 'msg 2', 'bad invalid', 'msg 3', 'bad invalid', 'msg 4'];
      if (!same(got, want)) fail(`hostile: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      child.disconnect();
      const { code } = await exited;
      if (code !== 0) fail(`child exit code ${code}`);
      break;
    }
    default:
      fail(`unknown scenario ${scenario}`);
  }
  clearTimeout(timer);
  console.log('ok');
}

main().catch((e) => fail(e && e.stack));
