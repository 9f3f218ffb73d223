'use strict';
// The Node parent of the benchmark suite (interop/bench): it starts the
// plan's child (a Node script with fork(), or the Go peer with spawn() and
// 'ipc') and runs the plan's tests, printing one JSON result per line.
//
//   node parent.js PLAN
//
// PLAN is the JSON shape.Plan the driver builds (interop/bench/internal/shape);
// an interactive plan then takes one JSON test per line on stdin.
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const readline = require('node:readline');
const { shapes, sendMany } = require('./common.js');

const WARMUP = 2000; // round trips before the first latency test
const plan = JSON.parse(process.argv[2]);
const S = shapes();
const serialization = plan.serialization || 'json';
const stdio = ['ignore', 2, 2, 'ipc'];

function emit(r) {
  process.stdout.write(JSON.stringify(r) + '\n');
}

function now() {
  return process.hrtime.bigint();
}

function usSince(t) {
  return Number(now() - t) / 1000;
}

const t0 = now();
const child =
  plan.child.kind === 'node'
    ? fork(plan.child.script, plan.child.args || [], { execPath: plan.child.path, execArgv: [], stdio, serialization })
    : spawn(plan.child.path, plan.child.args || [], { stdio, serialization });

// One handler at a time receives the child's messages.
let onMsg = null;
child.on('message', (m) => onMsg(m));

let started = false;
child.on('exit', (code, signal) => {
  if (!started) {
    emit({ kind: 'startup', error: `child exited with ${signal || code} before its first message` });
    process.exit(code === 3 ? 3 : 1);
  }
});

function next() {
  return new Promise((resolve) => {
    onMsg = resolve;
  });
}

function roundTrips(n) {
  return new Promise((resolve, reject) => {
    const rtts = new Float64Array(n);
    let i = 0;
    let t;
    const send = () => {
      t = now();
      child.send({ id: i, op: 'echo', payload: 'x' });
    };
    onMsg = (m) => {
      rtts[i] = usSince(t);
      if (m.id !== i) {
        reject(new Error(`echo ${m.id} for ping ${i}`));
        return;
      }
      if (++i === n) resolve(rtts);
      else send();
    };
    send();
  });
}

async function childCPU() {
  child.send({ id: 0, op: 'stats', payload: '' });
  const m = await next();
  if (m.op !== 'stats') throw new Error(`got op ${m.op}; want stats`);
  return m.cpu_us;
}

function vmHWM(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function rate(r, t) {
  r.seconds = usSince(t) / 1e6;
  r.rate = r.n / r.seconds;
}

let warmed = false;

// run runs one test. Throughput tests also measure how busy each side was:
// CPU time over wall time, 1.0 being one core kept busy.
async function run(t) {
  if (t.kind !== 'c2p' && t.kind !== 'p2c' && t.kind !== 'pipeline') return run1(t);
  const c0 = await childCPU();
  const p0 = process.cpuUsage();
  const r = await run1(t);
  const p1 = process.cpuUsage(p0);
  const c1 = await childCPU();
  r.parent_util = (p1.user + p1.system) / 1e6 / r.seconds;
  r.child_util = (c1 - c0) / 1e6 / r.seconds;
  return r;
}

async function run1(t) {
  const r = { kind: t.kind, n: t.n };
  if (t.shape) r.shape = t.shape;
  switch (t.kind) {
    case 'latency': {
      if (!warmed) {
        await roundTrips(WARMUP);
        warmed = true;
      }
      const c0 = await childCPU();
      const p0 = process.cpuUsage();
      const rtts = await roundTrips(t.n);
      const p1 = process.cpuUsage(p0);
      const c1 = await childCPU();
      rtts.sort();
      r.median_us = rtts[rtts.length >> 1];
      r.p99_us = rtts[Math.floor((rtts.length * 99) / 100)];
      r.child_cpu_us = (c1 - c0) / t.n;
      r.parent_cpu_us = (p1.user + p1.system) / t.n;
      break;
    }
    case 'c2p': {
      const start = now();
      const done = new Promise((resolve) => {
        let got = 0;
        onMsg = () => {
          if (++got === t.n) resolve();
        };
      });
      child.send({ id: 0, op: 'c2p', payload: '', shape: t.shape, n: t.n });
      await done;
      rate(r, start);
      break;
    }
    case 'p2c': {
      const start = now();
      const done = next();
      child.send({ id: 0, op: 'p2c', payload: '', shape: t.shape, n: t.n });
      await sendMany(child, S[t.shape], t.n);
      const m = await done;
      if (m.op !== 'done') throw new Error(`got op ${m.op}; want done`);
      rate(r, start);
      break;
    }
    case 'pipeline': {
      // Pings, or with a shape the whole message of that shape (the first
      // echo must be the message itself, keys in the same order).
      const msg = t.shape ? S[t.shape] : null;
      const next = (i) => msg || { id: i, op: 'echo', payload: 'x' };
      const start = now();
      await new Promise((resolve, reject) => {
        let sent = 0;
        let got = 0;
        onMsg = (m) => {
          if (got === 0 && msg && JSON.stringify(m) !== JSON.stringify(msg)) {
            reject(new Error(`echo of ${t.shape} differs: ${JSON.stringify(m)}`));
            return;
          }
          if (sent < t.n) child.send(next(sent++));
          if (++got === t.n) resolve();
        };
        for (; sent < Math.min(t.window, t.n); sent++) child.send(next(sent));
      });
      rate(r, start);
      break;
    }
    case 'mem':
      r.vmhwm_kib = vmHWM(child.pid);
      break;
    default:
      throw new Error(`unknown test kind ${t.kind}`);
  }
  return r;
}

async function main() {
  const ready = await next();
  started = true;
  if (ready.op !== 'ready') throw new Error(`first message ${JSON.stringify(ready)}`);
  emit({ kind: 'startup', startup_ms: usSince(t0) / 1000 });
  for (const t of plan.tests || []) emit(await run(t));
  if (plan.interactive) {
    // More tests from stdin, one JSON test per line, until it ends.
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      if (line.trim() !== '') emit(await run(JSON.parse(line)));
    }
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  await exited;
}

main().catch((err) => {
  console.error('parent:', err);
  process.exit(1);
});
