// handles.js: a Node parent sends a connected socket and a listening server
// to `nodeipc echo` (argv[2]) and checks that each comes back with its
// message and still works. Prints "ok" and exits 0, or exits 1.
'use strict';
const {fork} = require('node:child_process');
const net = require('node:net');
const assert = require('node:assert/strict');

const child = fork('ignored.js', [], {execPath: process.argv[2], execArgv: ['echo'], serialization: process.argv[3] || 'json'});
const next = () => new Promise((resolve) => child.once('message', (m, h) => resolve([m, h])));

(async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const {port} = server.address();
  const accepted = new Promise((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  const serverSide = await accepted;

  // A connected socket goes out and comes back with its message.
  let reply = next();
  child.send({kind: 'socket'}, serverSide);
  let [m, h] = await reply;
  assert.deepEqual(m, {kind: 'socket'});
  assert.ok(h instanceof net.Socket, 'a net.Socket came back');
  const got = new Promise((r) => client.once('data', r));
  h.write('through Go and back');
  assert.equal(String(await got), 'through Go and back');
  h.destroy();
  client.destroy();

  // A listening server too: the returned one accepts connections.
  reply = next();
  child.send({kind: 'server', n: 2}, server);
  [m, h] = await reply;
  assert.deepEqual(m, {kind: 'server', n: 2});
  assert.ok(h instanceof net.Server, 'a net.Server came back');
  server.close();
  const conn = new Promise((r) => h.once('connection', r));
  const c2 = net.connect(port, '127.0.0.1');
  (await conn).destroy();
  c2.destroy();
  h.close();

  // A plain message still comes back without a handle.
  reply = next();
  child.send({kind: 'plain'});
  [m, h] = await reply;
  assert.deepEqual(m, {kind: 'plain'});
  assert.equal(h, undefined);

  child.disconnect();
  const [code] = await new Promise((r) => child.once('exit', (...a) => r(a)));
  assert.equal(code, 0);
  console.log('ok');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
