'use strict';
// @nodeipc/node: the Node.js half of nodeipc's calls between processes, on
// workerpool's process-worker envelope (nodeipc/PROTOCOL.md §10). No
// dependencies. The API is documented in index.d.ts and README.md.
//
//   worker(methods)          serve methods in a Node script started by a
//                            nodeipc Pool, by fork() below or by workerpool;
//   fork(file, args, opts)   start a worker (a Go program using
//                            nodeipc's pool.Serve, or a Node script using
//                            worker()) and call it.

const { spawn } = require('node:child_process');

const READY = 'ready';
const TERMINATE = '__workerpool-terminate__';
const CLEANUP = '__workerpool-cleanup__';

// How long a Client waits, once its worker has exited, for the rest of the
// worker's messages (the channel's end) before it closes the channel.
const DRAIN_MS = 1000;

// errorToObject turns a thrown value into the error object of the envelope:
// the error's own properties plus name, message and stack. Functions and
// symbols are left out, which no serialization carries, and bigints too
// unless withBigInts is set (advanced serialization carries them, JSON
// does not).
function errorToObject(err, withBigInts) {
  if (err === null || typeof err !== 'object') {
    const e = new Error(String(err));
    return { name: 'Error', message: e.message, stack: e.stack };
  }
  const out = {};
  for (const key of Object.getOwnPropertyNames(err)) {
    const v = err[key];
    if (typeof v !== 'function' && typeof v !== 'symbol' && (withBigInts || typeof v !== 'bigint')) out[key] = v;
  }
  out.name = typeof err.name === 'string' ? err.name : 'Error';
  out.message = typeof err.message === 'string' ? err.message : String(err.message ?? '');
  out.stack = typeof err.stack === 'string' ? err.stack : '';
  return out;
}

// objectToError rebuilds a JavaScript Error from the envelope's error
// object: a TypeError stays a TypeError, and every property (code, ...) is
// copied.
function objectToError(obj) {
  if (obj === null || typeof obj !== 'object') return new Error(String(obj));
  const Native = globalThis[obj.name];
  const Ctor = typeof Native === 'function' && (Native === Error || Native.prototype instanceof Error) ? Native : Error;
  const err = new Ctor(obj.message);
  for (const key of Object.keys(obj)) {
    if (key !== 'message') err[key] = obj[key];
  }
  return err;
}

// exitedError is what the calls of a worker that has gone get: the spawn
// error (ENOENT, ...) if it never started, else an error with code
// 'ERR_WORKER_EXITED'.
function exitedError(pid, status) {
  if (status.error) return status.error;
  const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
  const err = new Error(`nodeipc worker ${pid} exited (${how})`);
  err.code = 'ERR_WORKER_EXITED';
  return err;
}

// worker serves methods to the parent over the IPC channel. Each method is
// called with the call's params as arguments and `this` set to
// {signal, emit}: signal aborts when the caller cancels the call, emit(payload)
// sends a progress event. A method may return a value or a promise; a thrown
// error reaches the caller with its name, message, stack and own properties.
// The worker exits when the parent sends the terminate message (once the
// calls in progress settle) or goes away.
function worker(methods, options = {}) {
  if (typeof process.send !== 'function') {
    throw new Error('@nodeipc/node: worker() needs an IPC channel (start this script with fork(), a nodeipc Pool or workerpool)');
  }
  if (methods === null || typeof methods !== 'object') {
    throw new TypeError('@nodeipc/node: worker(methods): methods must be an object of functions');
  }
  const calls = new Map();
  let terminating = false;
  const send = (msg) => {
    if (process.connected) process.send(msg, (err) => { if (err && options.onSendError) options.onSendError(err); });
  };

  async function run(msg) {
    const id = msg.id;
    const params = Array.isArray(msg.params) ? msg.params : [];
    const controller = new AbortController();
    const call = { controller, cleaned: false, settled: null };
    let settle;
    call.settled = new Promise((resolve) => { settle = resolve; });
    calls.set(id, call);
    const ctx = {
      signal: controller.signal,
      emit(payload) {
        if (!call.cleaned) send({ id, isEvent: true, payload });
      },
    };
    try {
      let fn = Object.prototype.hasOwnProperty.call(methods, msg.method) ? methods[msg.method] : undefined;
      if (fn === undefined && msg.method === 'methods') fn = () => Object.keys(methods);
      if (typeof fn !== 'function') throw new Error(`Unknown method "${msg.method}"`);
      const result = await fn.apply(ctx, params);
      // send throws here if the result cannot be serialized (a BigInt in
      // json mode, a function): the caller gets that error instead.
      if (!call.cleaned) send({ id, result: result === undefined ? null : result, error: null });
    } catch (err) {
      if (!call.cleaned) {
        // Every property, as advanced serialization carries it; if the
        // channel is json, the send throws on a bigint, and they are left
        // out.
        try {
          send({ id, result: null, error: errorToObject(err, true) });
        } catch {
          send({ id, result: null, error: errorToObject(err, false) });
        }
      }
    } finally {
      calls.delete(id);
      settle();
    }
  }

  function cleanup(id) {
    const call = calls.get(id);
    if (!call) {
      send({ id, method: CLEANUP, error: null });
      return;
    }
    call.cleaned = true;
    call.controller.abort();
    call.settled.then(() => send({ id, method: CLEANUP, error: null }));
  }

  function terminate() {
    if (terminating) return;
    terminating = true;
    const pending = [...calls.values()];
    for (const c of pending) {
      c.cleaned = true;
      c.controller.abort();
    }
    Promise.all(pending.map((c) => c.settled)).then(() => process.exit(0));
  }

  process.on('message', (msg) => {
    if (msg === TERMINATE) return terminate();
    if (msg === null || typeof msg !== 'object' || typeof msg.method !== 'string') return;
    if (msg.method === CLEANUP) return cleanup(msg.id);
    if (!terminating) run(msg);
  });
  // A worker never outlives its parent.
  process.on('disconnect', () => process.exit(0));
  send(READY);
}

// Client calls a worker: a child process with an IPC channel that speaks
// the envelope (a Go program using nodeipc's pool.Serve, or a Node script
// using worker()). fork() makes one; new Client(child) wraps a ChildProcess
// started some other way.
class Client {
  constructor(child) {
    if (child === null || typeof child !== 'object' || typeof child.send !== 'function') {
      throw new TypeError('@nodeipc/node: new Client(child): child must be a ChildProcess with an IPC channel');
    }
    this.child = child;
    this.pid = child.pid;
    this._nextId = 0;
    this._pending = new Map();
    this._queue = [];
    this._ready = false;
    this._exit = null;
    this.exited = new Promise((resolve) => {
      const end = (status) => {
        if (this._exit) return;
        this._exit = status;
        const err = exitedError(this.pid, status);
        for (const p of this._pending.values()) p.reject(err);
        this._pending.clear();
        this._queue.length = 0;
        resolve(status);
      };
      child.once('exit', (code, signal) => {
        const status = { code, signal };
        if (!child.connected) return end(status);
        // Read what the worker sent before it exited, up to the channel's
        // end; close the channel if a grandchild keeps it open.
        const timer = setTimeout(() => { if (child.connected) child.disconnect(); }, DRAIN_MS);
        timer.unref();
        child.once('disconnect', () => { clearTimeout(timer); end(status); });
      });
      // A worker that could not be started emits 'error' and no 'exit'.
      child.on('error', (err) => {
        if (child.pid === undefined) end({ code: null, signal: null, error: err });
      });
    });
    child.on('message', (msg) => this._onMessage(msg));
  }

  _onMessage(msg) {
    if (msg === READY) {
      this._ready = true;
      for (const m of this._queue.splice(0)) this._send(m);
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    if (msg.method === CLEANUP) return;
    const p = this._pending.get(msg.id);
    if (!p) return;
    if (msg.isEvent) {
      if (p.onEvent) p.onEvent(msg.payload);
      return;
    }
    this._pending.delete(msg.id);
    if (msg.error) p.reject(objectToError(msg.error));
    else p.resolve(msg.result);
  }

  // _send sends msg, or queues it until the worker is ready. A call the
  // channel cannot serialize (a BigInt param in json mode) fails.
  _send(msg) {
    if (!this._ready) {
      this._queue.push(msg);
      return;
    }
    try {
      this.child.send(msg);
    } catch (err) {
      const p = msg.method !== CLEANUP && this._pending.get(msg.id);
      if (!p) return;
      this._pending.delete(msg.id);
      p.reject(err);
    }
  }

  // call(method, params, {onEvent, signal, timeout}) sends one call and
  // resolves with its result or rejects with the worker's error rebuilt as
  // an Error. signal or timeout cancel it: the promise rejects with the
  // signal's reason or a TimeoutError, and the worker is told to clean up.
  call(method, params = [], options = {}) {
    if (this._exit) return Promise.reject(exitedError(this.pid, this._exit));
    const id = ++this._nextId;
    return new Promise((resolve, reject) => {
      let timer = null;
      const msg = { id, method, params };
      const done = () => {
        if (timer) clearTimeout(timer);
        if (options.signal) options.signal.removeEventListener('abort', onAbort);
      };
      const cancel = (err) => {
        if (!this._pending.has(id)) return;
        this._pending.delete(id);
        done();
        reject(err);
        const queued = this._queue.indexOf(msg);
        if (queued >= 0) this._queue.splice(queued, 1); // never sent: nothing to clean up
        else this._send({ id, method: CLEANUP });
      };
      const onAbort = () => cancel(options.signal.reason ?? new DOMException('The call was aborted', 'AbortError'));
      this._pending.set(id, {
        onEvent: options.onEvent,
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
      });
      if (options.signal) {
        if (options.signal.aborted) return onAbort();
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
      if (options.timeout > 0) {
        timer = setTimeout(() => cancel(new DOMException(`The call timed out after ${options.timeout} ms`, 'TimeoutError')), options.timeout);
      }
      this._send(msg);
    });
  }

  // close() stops the worker with the shutdown ladder: the terminate
  // message, SIGTERM after stopTimeout ms, SIGKILL after killTimeout more.
  // It resolves with {code, signal} once the worker has exited.
  async close({ stopTimeout = 1000, killTimeout = 1000 } = {}) {
    if (this._exit) return this._exit;
    if (this.child.connected) this.child.send(TERMINATE);
    const within = (ms) => Promise.race([this.exited, new Promise((r) => setTimeout(r, ms).unref())]);
    await within(stopTimeout);
    if (!this._exit) this.child.kill('SIGTERM');
    await within(killTimeout);
    if (!this._exit) this.child.kill('SIGKILL');
    return this.exited;
  }
}

// fork starts file (a Go worker binary, or anything speaking the envelope)
// with an IPC channel at fd 3 and returns a Client. options: env, cwd,
// stdio (for fds 0-2, default 'inherit'), serialization ('json' or
// 'advanced', default 'json').
function fork(file, args = [], options = {}) {
  const io = options.stdio ?? 'inherit';
  const stdio = Array.isArray(io) ? [...io.slice(0, 3), 'ipc'] : [io, io, io, 'ipc'];
  const child = spawn(file, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio,
    serialization: options.serialization ?? 'json',
  });
  return new Client(child);
}

module.exports = { worker, fork, Client, errorToObject, objectToError };
