'use strict';
// A Node parent for the handle interop tests. It forks a Go child (the
// interop test binary as a helper) and prints "ok <detail>" when every
// assertion holds.
//
//   node parent.js toGo <go-binary>    Node sends a socket, a server and a
//                                      UDP socket to the Go child
//   node parent.js fromGo <go-binary>  the Go child sends them to Node
const { fork } = require('node:child_process');
const net = require('node:net');
const dgram = require('node:dgram');
const assert = require('node:assert/strict');
const { serve, describe } = require('./serve.js');

const [scenario, goBin] = process.argv.slice(2);

function start(helper) {
  return fork('ignored.js', [], {
    execPath: goBin,
    execArgv: [],
    env: { ...process.env, NODEIPC_TEST_HELPER: helper },
  });
}

// next resolves with the next user message that satisfies pred.
function next(child, pred = () => true) {
  return new Promise((resolve) => {
    const on = (m, h) => {
      if (!pred(m)) return;
      child.off('message', on);
      resolve([m, h]);
    };
    child.on('message', on);
  });
}

const once = (em, ev) => new Promise((resolve) => em.once(ev, (...a) => resolve(a)));

function readAll(sock) {
  return new Promise((resolve, reject) => {
    let s = '';
    sock.on('data', (d) => (s += d));
    sock.on('end', () => resolve(s));
    sock.on('error', reject);
  });
}

const scenarios = {
  async toGo() {
    const child = start('handles-recv');
    const exited = once(child, 'exit');

    // 1. A connected socket, between two plain messages.
    const server = net.createServer((sock) => {
      child.send('plain-before');
      child.send({ kind: 'socket' }, sock);
      child.send('plain-after');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect(server.address().port, '127.0.0.1');
    const reply = readAll(client);
    const [got] = await next(child, (m) => m.got === 'socket');
    assert.deepEqual(got.order, ['plain-before', 'socket', 'plain-after']);
    client.write('ping');
    const [echo] = await next(child, (m) => m.echoed !== undefined);
    assert.equal(echo.echoed, 'ping');
    // The socket lives on in the Go child: the server counts it there.
    const count = await new Promise((res, rej) => server.getConnections((e, n) => (e ? rej(e) : res(n))));
    assert.equal(count, 1, 'getConnections');
    // close() completes once the Go child closed its socket.
    const closed = new Promise((res) => server.close(res));
    child.send({ kind: 'close-socket' });
    await closed;
    assert.equal(await reply, 'go-socket:ping');
    const count0 = await new Promise((res) => server.getConnections((e, n) => res(e ? e.code : n)));

    // 2. A listening server.
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = srv.address().port;
    await new Promise((res) => child.send({ kind: 'server' }, srv, res));
    srv.close(); // our copy; the Go child serves the socket now
    await next(child, (m) => m.got === 'server');
    const c2 = net.connect(port, '127.0.0.1');
    assert.equal(await readAll(c2), 'go-server');

    // 3. A UDP socket.
    const u = dgram.createSocket('udp4');
    u.bind(0, '127.0.0.1');
    await once(u, 'listening');
    const uport = u.address().port;
    await new Promise((res) => child.send({ kind: 'udp' }, u, res));
    u.close();
    await next(child, (m) => m.got === 'udp');
    const probe = dgram.createSocket('udp4');
    const answer = once(probe, 'message');
    probe.send('hi', uport, '127.0.0.1');
    const [d] = await answer;
    assert.equal(String(d), 'go-udp:hi');
    probe.close();

    child.disconnect();
    const [code] = await exited;
    assert.equal(code, 0, 'go child exit code');
    return `socket count=${count} after-close=${count0}, server, udp`;
  },

  // The Go child NACKs the first transmission (by hand, before it adopts
  // the channel): Node retransmits the socket double-wrapped in a
  // net.Native, which nodeipc unwraps and ACKs once (a second ACK would
  // crash this process).
  async nack() {
    const child = start('handles-nack');
    const exited = once(child, 'exit');
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.name));
    const server = net.createServer((sock) => child.send({ kind: 'socket' }, sock));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect(server.address().port, '127.0.0.1');
    const reply = readAll(client);
    const [got] = await next(child, (m) => m.got === 'socket');
    assert.equal(got.type, 'net.Socket');
    assert.match(got.key, /127\.0\.0\.1/);
    client.write('ping');
    assert.equal(await reply, 'go-nack:ping');
    server.close();
    child.disconnect();
    const [code] = await exited;
    assert.equal(code, 0, 'go child exit code');
    assert.deepEqual(warnings, []);
    return `retransmitted ${got.type} key ${got.key}`;
  },

  // A socket sent with a message over the Go child's size limit: the child
  // NACKs it each time (Node retransmits it three times, then warns and
  // gives up) and Node's later messages still arrive.
  async oversized() {
    const child = start('handles-oversized');
    const exited = once(child, 'exit');
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.name));
    const server = net.createServer((sock) => {
      child.send({ kind: 'socket', pad: 'x'.repeat(4096) }, sock);
      child.send({ kind: 'after' });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect(server.address().port, '127.0.0.1');
    client.on('error', () => {});
    const [got] = await next(child, (m) => m.got === 'after');
    assert.ok(got.tooLarge >= 1, `oversized reports: ${got.tooLarge}`);
    client.destroy();
    server.close();
    child.disconnect();
    const [code] = await exited;
    assert.equal(code, 0, 'go child exit code');
    assert.ok(warnings.includes('SentHandleNotReceivedWarning'), `warnings: ${warnings}`);
    return `NACKed ${got.tooLarge} oversized NODE_HANDLE frames, then "after" arrived`;
  },

  async fromGo() {
    const child = start('handles-send');
    const exited = once(child, 'exit');
    const kinds = [];
    child.on('message', (m, h) => {
      if (m && m.kind) {
        kinds.push(`${m.kind}:${describe(h)}`);
        assert.ok(serve(m, h), `served ${m.kind}`);
      }
    });
    const [done] = await next(child, (m) => m.done);
    assert.equal(done.error, undefined);
    const [code] = await exited;
    assert.equal(code, 0, 'go child exit code');
    assert.deepEqual(kinds, ['socket:net.Socket', 'unix:net.Socket', 'server:net.Server', 'udp:dgram.Socket']);
    return kinds.join(' ');
  },
};

const timer = setTimeout(() => {
  console.error('timeout');
  process.exit(1);
}, 60000);
scenarios[scenario]().then(
  (detail) => {
    clearTimeout(timer);
    console.log('ok ' + detail);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
