'use strict';
// nodeipc-worker: the Node.js half of nodeipc's request/response layer
// (nodeipc/PROTOCOL.md §10). No dependencies.
//
//   worker(methods)          serve methods in a Node script run by a nodeipc
//                            Pool (or by workerpool: same envelope);
//   fork(file, args, opts)   start a Go worker (nodeipc.Serve) from Node and
//                            call it, without a pool library.

const { spawn } = require('node:child_process');

const READY = 'ready';
const TERMINATE = '__workerpool-terminate__';
const CLEANUP = '__workerpool-cleanup__';

// errorToObject turns a thrown value into the error object of the envelope:
// the error's own properties plus name, message and stack.
function errorToObject(err) {
  if (err === null || typeof err !== 'object') {
    const e = new Error(String(err));
    return { name: 'Error', message: e.message, stack: e.stack };
  }
  const out = {};
  for (const key of Object.getOwnPropertyNames(err)) {
    const v = err[key];
    if (typeof v !== 'function' && typeof v !== 'symbol' && typeof v !== 'bigint') out[key] = v;
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

// worker serves methods to the parent over the IPC channel. Each method is
// called with the call's params as arguments and `this` set to
// {signal, emit}: signal aborts when the caller cancels the call, emit(payload)
// sends a progress event. A method may return a value or a promise; a thrown
// error reaches the caller with its name, message, stack and own properties.
// The worker exits when the parent sends the terminate message (once the
// calls in progress settle) or goes away.
function worker(methods, options = {}) {
  if (typeof process.send !== 'function') {
    throw new Error('nodeipc-worker: worker() needs an IPC channel (start this script with fork() or a nodeipc Pool)');
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
      if (!call.cleaned) send({ id, result: result === undefined ? null : result, error: null });
    } catch (err) {
      if (!call.cleaned) send({ id, result: null, error: errorToObject(err) });
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

// Client is a Go (or any nodeipc/workerpool-envelope) worker started by
// fork().
class Client {
  constructor(child) {
    this.child = child;
    this.pid = child.pid;
    this._nextId = 0;
    this._pending = new Map();
    this._queue = [];
    this._ready = false;
    this._exit = null;
    this.exited = new Promise((resolve) => {
      const end = (status, err) => {
        if (this._exit) return;
        this._exit = status;
        for (const p of this._pending.values()) p.reject(err);
        this._pending.clear();
        this._queue.length = 0;
        resolve(status);
      };
      child.once('exit', (code, signal) => {
        const err = new Error(`nodeipc worker ${child.pid} exited (${signal ? 'signal ' + signal : 'code ' + code})`);
        err.code = 'ERR_WORKER_EXITED';
        end({ code, signal }, err);
      });
      // A worker that could not be started emits 'error' and no 'exit'.
      child.on('error', (err) => {
        if (child.pid === undefined) end({ code: null, signal: null, error: err }, err);
      });
    });
    child.on('message', (msg) => this._onMessage(msg));
  }

  _onMessage(msg) {
    if (msg === READY) {
      this._ready = true;
      for (const m of this._queue.splice(0)) this.child.send(m);
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

  _send(msg) {
    if (this._ready) this.child.send(msg);
    else this._queue.push(msg);
  }

  // call(method, params, {onEvent, signal, timeout}) sends one call and
  // resolves with its result or rejects with the worker's error rebuilt as
  // an Error. signal or timeout cancel it: the promise rejects with an
  // AbortError or TimeoutError and the worker is told to clean up.
  call(method, params = [], options = {}) {
    if (this._exit) return Promise.reject(new Error(`nodeipc worker ${this.pid} has exited`));
    const id = ++this._nextId;
    return new Promise((resolve, reject) => {
      let timer = null;
      const done = () => {
        if (timer) clearTimeout(timer);
        if (options.signal) options.signal.removeEventListener('abort', onAbort);
      };
      const cancel = (err) => {
        if (!this._pending.has(id)) return;
        this._pending.delete(id);
        done();
        reject(err);
        this._send({ id, method: CLEANUP });
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
      this._send({ id, method, params });
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
// stdio (for fds 0-2, default 'inherit'), serialization ('json').
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
