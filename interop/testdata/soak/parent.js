'use strict';
// Node parent for the reliability suite: forks the Go child given on the
// command line (with the serialization of argv[3]), sends argv[2] messages
// {seq, pad} with at most 1,000 unanswered, checks the echoes arrive once
// and in order, asks the child for its figures, and prints one JSON line.
const { fork } = require('node:child_process');

const [total, serialization, goChild] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const window = 1000;
const big = 'x'.repeat(64 << 10);
const child = fork(__filename, [], {
  execPath: goChild, execArgv: [], serialization,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
let sent = 0, received = 0, reordered = 0, next = 0;
const result = { sent: 0, received: 0, lost: 0, reordered: 0 };
const pump = () => {
  while (sent < total && sent - received < window) {
    child.send({ seq: sent, pad: sent % 512 === 0 ? big : 'p' });
    sent++;
  }
};
child.on('message', (m) => {
  if (m && m.stats) {
    Object.assign(result, { sent, received, lost: sent - received, reordered, child: m.stats });
    child.disconnect();
    return;
  }
  if (m.seq !== next) reordered++;
  next = m.seq + 1;
  received++;
  if (received === total) child.send({ stats: true });
  else pump();
});
child.on('exit', (code, signal) => {
  result.exit = signal || code;
  process.stdout.write(JSON.stringify(result) + '\n');
});
pump();
