'use strict';
// The workerpool side of the pool benchmark (interop/bench/poolbench): a
// workerpool pool of 2 process workers, driven from this script.
//
//   node driver.js node          workers are wp-worker.js (workerpool.worker())
//   node driver.js go GO_BINARY  workers are the Go worker (forkOpts.execPath)
//
// It starts the pool, times the first answer, warms up (both workers busy,
// JIT warm), then prints one JSON line:
//   {"ready":true,"first_ms":F,"pids":[worker pids]}
// and then serves one test per stdin line, {"method":"add"|"echo","n":N}:
// it submits all N calls at once (pool.exec, workerpool queues them), waits
// for all, checks every result, and prints {"seconds":S}.
const crypto = require('node:crypto');
const path = require('node:path');
const readline = require('node:readline');
const workerpool = require('workerpool');

const kind = process.argv[2];
const goBin = process.argv[3];
const workers = Number(process.env.POOLBENCH_WORKERS || 2);
const warmup = Number(process.env.POOLBENCH_WARMUP || 2000);

const opts = { workerType: 'process', maxWorkers: workers, minWorkers: workers };
let script = path.join(__dirname, 'wp-worker.js');
if (kind === 'go') {
  script = path.join(__dirname, 'dummy.js');
  opts.forkOpts = { execPath: goBin };
} else if (kind !== 'node') {
  console.error('usage: driver.js node | go GO_BINARY');
  process.exit(2);
}

// params and check build each call's arguments and verify its result, the
// same way as the Go caller (interop/bench/poolbench).
const filler = 'x'.repeat(20);
// hashes[b] is hash(i)'s answer for i % 256 == b (see wp-worker.js),
// computed once so that checking the answers costs little.
const block = Buffer.alloc(4096);
for (let k = 0; k < block.length; k++) block[k] = (31 * k + 7) & 255;
const hashes = [];
for (let b = 0; b < 256; b++) hashes.push(crypto.createHash('sha256').update(Buffer.of(b)).update(block).digest('hex'));
const params = {
  add: (i) => [i, 1],
  echo: (i) => [{ id: i, op: 'echo', payload: filler }],
  hash: (i) => [i],
};
const check = {
  add: (i, r) => r === i + 1,
  echo: (i, r) => r !== null && typeof r === 'object' && r.id === i && r.payload === filler,
  hash: (i, r) => r === hashes[i & 255],
};

// run submits n calls of method at once and waits for all of them.
async function run(pool, method, n) {
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = pool.exec(method, params[method](i));
  const rs = await Promise.all(ps);
  for (let i = 0; i < n; i++) {
    if (!check[method](i, rs[i])) throw new Error(`${method} ${i}: bad result ${JSON.stringify(rs[i])}`);
  }
}

(async () => {
  const t0 = process.hrtime.bigint();
  const pool = workerpool.pool(script, opts);
  await pool.exec('add', [1, 1]);
  const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const m of ['add', 'echo', 'hash']) await run(pool, m, warmup);
  const pids = pool.workers.map((w) => w.worker.pid);
  process.stdout.write(JSON.stringify({ ready: true, first_ms: firstMs, pids }) + '\n');

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    const t = JSON.parse(line);
    const s = process.hrtime.bigint();
    await run(pool, t.method, t.n);
    const seconds = Number(process.hrtime.bigint() - s) / 1e9;
    process.stdout.write(JSON.stringify({ seconds }) + '\n');
  }
  await pool.terminate();
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
