'use strict';
// A Node child for the interop tests, started by a Go parent with
// nodeipc.Start. argv[2] picks the behaviour.
const [mode, arg] = process.argv.slice(2);

switch (mode) {
  case 'echo':
    // Send back every message; exit on disconnect (the channel's end).
    process.on('message', (m) => process.send(m));
    break;
  case 'burst': {
    // Send N messages and return: Node keeps the process alive until they are
    // written, then exits (no listener keeps the channel).
    const n = Number(arg);
    for (let i = 0; i < n; i++) process.send({ i });
    break;
  }
  case 'internal':
    process.send({ cmd: 'NODE_INTEROP_TEST', x: 1 });
    process.send({ cmd: 'NODE_' });
    process.send({ cmd: 'NODE_ANOTHER' });
    process.send({ done: true });
    break;
  case 'exit-on-disconnect':
    // Exit 42 only if 'disconnect' fired.
    process.on('disconnect', () => {
      process.exitCode = 42;
    });
    process.on('message', (m) => process.send({ got: m }));
    break;
  case 'self-disconnect':
    process.once('message', (m) => {
      process.send({ bye: m });
      process.disconnect();
    });
    break;
  case 'env':
    process.send({
      fd: process.env.NODE_CHANNEL_FD ?? null,
      mode: process.env.NODE_CHANNEL_SERIALIZATION_MODE ?? null,
      unique: process.env.NODE_UNIQUE_ID ?? null,
      channelFd: process.channel && process.channel.fd,
    });
    break;
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
