'use strict';
// A Node cluster primary whose workers are Go programs (the interop test
// binary, as the "cluster-http" helper) and, optionally, Node workers. It
// prints "ok <detail>" when every assertion holds.
//
//   node primary.js <rr|none> <kinds> <go-binary>
//
// kinds is a comma-separated list of worker kinds, "go" or "node".
// process.execPath is pointed at the Go binary before each Go fork: cluster
// has no execPath setting, and fork() reads process.execPath.
const cluster = require('node:cluster');
const http = require('node:http');
const path = require('node:path');
const assert = require('node:assert/strict');

const [mode, kindList, goBin] = process.argv.slice(2);
cluster.schedulingPolicy = mode === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
const nodeExec = process.execPath;
const kinds = kindList.split(',');

const once = (em, ev) => new Promise((resolve) => em.once(ev, (...a) => resolve(a)));

function fork(kind) {
  if (kind === 'go') {
    process.execPath = goBin;
    cluster.setupPrimary({ exec: 'ignored.js', execArgv: [] });
    const w = cluster.fork({ NODEIPC_TEST_HELPER: 'cluster-http' });
    process.execPath = nodeExec;
    return w;
  }
  cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js'), execArgv: [] });
  return cluster.fork();
}

function get(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

async function main() {
  const workers = kinds.map((k) => ({ kind: k, w: fork(k) }));
  const events = new Map(workers.map(({ w }) => [w.id, []]));
  for (const { w } of workers) {
    w.on('online', () => events.get(w.id).push('online'));
    w.on('disconnect', () => events.get(w.id).push('disconnect'));
  }
  const addrs = await Promise.all(workers.map(({ w }) => once(w, 'listening').then(([a]) => a)));
  const port = addrs[0].port;
  for (const a of addrs) assert.equal(a.port, port, 'every worker listens on one port');
  assert.ok(port > 0);

  // Requests, one at a time, so that round-robin visits every worker.
  const served = new Map();
  const n = 6 * workers.length;
  for (let i = 0; i < n; i++) {
    const body = await get(port);
    const m = /^worker (\d+) (go|node)$/.exec(body);
    assert.ok(m, `response ${JSON.stringify(body)}`);
    served.set(body, (served.get(body) || 0) + 1);
  }
  if (mode !== 'none') {
    for (const { kind, w } of workers) {
      assert.ok(served.get(`worker ${w.id} ${kind}`) > 0, `worker ${w.id} (${kind}) served nothing`);
    }
  }

  // A clean shutdown: disconnect() makes each worker close its servers and
  // its channel, then exit 0 with exitedAfterDisconnect set.
  // ('exit' may come before 'disconnect' when a worker exits at once.)
  const exits = workers.map(({ w }) => once(w, 'exit'));
  const disconnects = workers.map(({ w }) => once(w, 'disconnect'));
  for (const { w } of workers) w.disconnect();
  const codes = await Promise.all(exits);
  await Promise.all(disconnects);
  for (const [i, { kind, w }] of workers.entries()) {
    assert.deepEqual(codes[i], [0, null], `worker ${w.id} (${kind}) exit`);
    assert.equal(w.exitedAfterDisconnect, true, `worker ${w.id} exitedAfterDisconnect`);
    assert.deepEqual(events.get(w.id), ['online', 'disconnect'], `worker ${w.id} events`);
  }
  return `${mode} ${kindList} port ${port}: ` + [...served].map(([k, v]) => `${k}=${v}`).join(', ');
}

const timer = setTimeout(() => {
  console.error('timeout');
  process.exit(1);
}, 60000);
main().then(
  (detail) => {
    clearTimeout(timer);
    console.log('ok ' + detail);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
