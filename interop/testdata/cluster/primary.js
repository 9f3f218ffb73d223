'use strict';
// A Node cluster primary whose workers are Go programs (the interop test
// binary, as the "cluster-http" helper) and, optionally, Node workers. It
// prints "ok <detail>" when every assertion holds.
//
//   node primary.js <rr|none|udp> <kinds> <go-binary>
//
// kinds is a comma-separated list of worker kinds, "go" or "node". In udp
// mode the workers share a UDP socket (always shared) and echo datagrams.
// process.execPath is pointed at the Go binary before each Go fork: cluster
// has no execPath setting, and fork() reads process.execPath.
const cluster = require('node:cluster');
const http = require('node:http');
const dgram = require('node:dgram');
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
    const w = cluster.fork({ NODEIPC_TEST_HELPER: 'cluster-http', CLUSTER_PROTO: mode === 'udp' ? 'udp' : 'http' });
    process.execPath = nodeExec;
    return w;
  }
  cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js'), execArgv: [] });
  return cluster.fork({ CLUSTER_PROTO: mode === 'udp' ? 'udp' : 'http' });
}

// ask sends one datagram and resolves with the answer.
function ask(port, text) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('message', (d) => {
      s.close();
      resolve(String(d));
    });
    s.once('error', reject);
    s.send(text, port, '127.0.0.1');
  });
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
    let body;
    if (mode === 'udp') {
      const answer = await ask(port, `d${i}`);
      assert.ok(answer.endsWith(`:d${i}`), `answer ${JSON.stringify(answer)}`);
      body = answer.slice(0, -`:d${i}`.length);
    } else {
      body = await get(port);
    }
    const m = /^worker (\d+) (go|node)$/.exec(body);
    assert.ok(m, `response ${JSON.stringify(body)}`);
    served.set(body, (served.get(body) || 0) + 1);
  }
  if (mode === 'rr') {
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
