'use strict';
// A Node child for the Wine suite, started by a Windows Go parent with
// nodeipc.Start. argv[2] picks the behaviour.
const mode = process.argv[2];

switch (mode) {
  case 'echo':
    // Send back every message; the end of the channel ends the process.
    process.on('message', (m) => process.send(m));
    break;
  case 'env':
    // Say who this is (Node removes the channel's variables from
    // process.env at start), then echo.
    process.send({ pid: process.pid, connected: process.connected });
    process.on('message', (m) => process.send(m));
    break;
  case 'self-disconnect':
    // Answer the first message, then disconnect: the Go parent must get the
    // answer, then the end of the channel.
    process.once('message', (m) => {
      process.send({ bye: m });
      process.disconnect();
    });
    break;
  case 'exit-on-disconnect':
    // Exit 42 only if 'disconnect' fired (the Go parent closed its end).
    process.on('disconnect', () => {
      process.exitCode = 42;
    });
    process.on('message', (m) => process.send(m));
    break;
  case 'burst': {
    // Send N messages, then disconnect once they are written.
    const n = Number(process.argv[3]);
    for (let i = 0; i < n; i++) process.send({ i });
    process.send('done', () => process.disconnect());
    break;
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
