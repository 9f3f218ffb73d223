'use strict';
// Node parent that forks `nodeipc echo` (argv[2] is the nodeipc binary),
// prints the child's pid once the channel works, and waits to be killed.
const { fork } = require('node:child_process');

const child = fork(__filename, [], { execPath: process.argv[2], execArgv: ['echo'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
child.once('message', () => process.stdout.write(child.pid + '\n'));
child.send({ seq: 0, pad: 'p' });
setInterval(() => {}, 1000);
