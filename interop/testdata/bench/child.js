'use strict';
// The Node child of the benchmark suite (interop/bench): started by a Node
// parent (parent.js) or a Go parent (gopeer parent) with an IPC channel, it
// answers the parent's control messages until the parent disconnects.
// JSON.parse decodes every message fully, as Node always does.
const { shapes, sendMany } = require('./common.js');

const S = shapes();
let left = 0; // p2c: messages still to receive
let want = 0;

process.send({ id: 0, op: 'ready', payload: '' });

process.on('message', (m) => {
  if (left > 0) {
    if (--left === 0) process.send({ id: 0, op: 'done', payload: '', n: want });
    return;
  }
  switch (m.op) {
    case 'echo':
      process.send(m);
      break;
    case 'c2p':
      sendMany(process, S[m.shape], m.n).catch((err) => {
        console.error('child c2p:', err);
        process.exit(1);
      });
      break;
    case 'p2c':
      left = want = m.n;
      if (left === 0) process.send({ id: 0, op: 'done', payload: '', n: 0 });
      break;
    case 'stats': {
      const u = process.cpuUsage();
      process.send({ op: 'stats', cpu_us: u.user + u.system, rss_kib: process.resourceUsage().maxRSS });
      break;
    }
    default:
      console.error(`child: unknown op ${m.op}`);
  }
});
