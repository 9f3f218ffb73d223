// Type declarations for @nodeipc/node (index.js). README.md has the manual;
// the envelope on the wire is nodeipc/PROTOCOL.md §10.

import type { ChildProcess, IOType } from 'node:child_process';
import type { Stream } from 'node:stream';

/**
 * The channel's serialization, as Node's `child_process` names it.
 *
 * - `'json'`: every message is `JSON.stringify`'d. Values follow JSON's
 *   rules (`undefined` properties vanish, a `Map` becomes `{}`, a `BigInt`
 *   cannot be sent at all).
 * - `'advanced'`: V8's structured clone (`v8.serialize`). Between two Node
 *   processes `Map`, `Set`, `BigInt`, `Date`, typed arrays, `Buffer`s and
 *   cycles survive. A Go worker (nodeipc's `pool.Serve`) accepts it too,
 *   but its handlers read params and write results with Go's
 *   `encoding/json` rules in either serialization: send it plain JSON data.
 */
export type Serialization = 'json' | 'advanced';

/** What `this` is inside a method served by {@link worker}. */
export interface CallContext {
  /**
   * Aborts when the caller cancels the call (its `signal` or `timeout`, a
   * Go caller's context) or the parent tells the worker to stop. A method
   * that runs long should listen to it and settle soon after: the worker
   * confirms the cancellation only once the method has settled.
   */
  readonly signal: AbortSignal;
  /**
   * Sends a progress event for this call to the caller (`onEvent` of
   * {@link Client.call}, `Call.Progress` of a Go pool, workerpool's `on`).
   * Events sent after the call was cancelled are dropped.
   *
   * @throws the serializer's error when the channel cannot carry `payload`
   *   (a `BigInt` in json mode, a function).
   */
  emit(payload: unknown): void;
}

/**
 * A method served by {@link worker}: called with the call's params as
 * arguments. Its return value (or what its promise resolves to) is the
 * result; `undefined` is sent as `null`. What it throws (or its promise
 * rejects with) reaches the caller as an error. Declare it with `function`
 * or method syntax to use `this`; an arrow function has no {@link CallContext}.
 */
export type Method = (this: CallContext, ...params: any[]) => unknown;

/** A worker's methods, keyed by the names callers use. */
export type Methods = Record<string, Method>;

export interface WorkerOptions {
  /**
   * Called when sending a result, error or event fails after it was
   * serialized (the parent went away). By default such failures are
   * ignored: the worker exits when the channel ends anyway.
   */
  onSendError?: (err: Error) => void;
}

/**
 * Serves `methods` to the parent process over the IPC channel: a nodeipc
 * pool (Go), {@link fork} (Node), or workerpool (`workerType: 'process'`).
 *
 * It sends `"ready"`, then runs each call as it arrives, concurrently with
 * the calls in progress. The built-in method `methods` returns the method
 * names (unless `methods` has its own). A call of an unknown method fails
 * with `Error: Unknown method "name"`. A result that the channel cannot
 * serialize (a `BigInt` in json mode, a function) fails the call with the
 * serializer's error. Cancellation aborts the method's `this.signal`; its
 * result is dropped and the worker confirms once the method has settled.
 *
 * The process exits with status 0 when the parent sends the terminate
 * message (after the calls in progress, whose signals are aborted, have
 * settled) or when the channel ends.
 *
 * @throws Error when the process has no IPC channel (it was not started
 *   with one), TypeError when `methods` is not an object.
 */
export function worker(methods: Methods, options?: WorkerOptions): void;

/** Options of one {@link Client.call}. */
export interface CallOptions<E = unknown> {
  /** Receives the call's progress events, in order, before it settles. */
  onEvent?: (payload: E) => void;
  /**
   * Cancels the call: the promise rejects at once with the signal's reason
   * (an `AbortError` `DOMException` by default), and the worker is told to
   * clean up.
   */
  signal?: AbortSignal;
  /**
   * Cancels the call after this many milliseconds: the promise rejects
   * with a `TimeoutError` `DOMException`, and the worker is told to clean
   * up. 0 or absent means no timeout.
   */
  timeout?: number;
}

/** How a worker ended. */
export interface ExitStatus {
  /** The exit status, or null when a signal ended the worker. */
  code: number | null;
  /** The signal that ended the worker, or null. */
  signal: NodeJS.Signals | null;
  /** Set when the worker could not be started at all (e.g. ENOENT). */
  error?: Error;
}

/** The shutdown ladder of {@link Client.close}. */
export interface CloseOptions {
  /** Milliseconds between the terminate message and SIGTERM (default 1000). */
  stopTimeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL (default 1000). */
  killTimeout?: number;
}

/**
 * The error a call rejects with when the worker itself failed it: an
 * instance of the global error class its `name` names (`TypeError`,
 * `RangeError`, ...), else `Error`, with the worker's `message` and `stack`
 * and every other property it sent (such as `code`).
 */
export interface WorkerCallError extends Error {
  [property: string]: unknown;
}

/**
 * The error calls reject with when their worker exited before answering,
 * and that every later call gets.
 */
export interface WorkerExitedError extends Error {
  code: 'ERR_WORKER_EXITED';
}

/**
 * Calls a worker: a child process with an IPC channel that speaks the
 * envelope (a Go program using nodeipc's `pool.Serve`, or a Node script
 * using {@link worker}). {@link fork} makes one.
 */
export class Client {
  /**
   * Wraps a child process that was started with an IPC channel some other
   * way, for example `child_process.fork('worker.js')` for a Node worker.
   * Create at most one Client per child, before the child has sent
   * anything.
   *
   * @throws TypeError when `child` has no IPC channel.
   */
  constructor(child: ChildProcess);
  /** The worker's process. */
  readonly child: ChildProcess;
  /** The worker's process id; undefined when it could not be started. */
  readonly pid: number | undefined;
  /**
   * Resolves, never rejects, when the worker has exited and the messages it
   * sent before have been delivered (or when it could not be started).
   */
  readonly exited: Promise<ExitStatus>;
  /**
   * Calls `method` with `params` and resolves with its result. Calls made
   * before the worker is ready wait for its `"ready"`; any number may be in
   * progress at once.
   *
   * Rejects with:
   * - the worker's error, rebuilt as a {@link WorkerCallError};
   * - the signal's reason or a `TimeoutError` when cancelled (see
   *   {@link CallOptions});
   * - a {@link WorkerExitedError} when the worker exits before answering,
   *   or the spawn error (code `ENOENT`, ...) when it could not be started.
   */
  call<T = unknown, E = unknown>(method: string, params?: readonly unknown[], options?: CallOptions<E>): Promise<T>;
  /**
   * Stops the worker: the terminate message (a worker finishes the calls
   * in progress, then exits), SIGTERM after `stopTimeout`, SIGKILL after
   * `killTimeout` more. Resolves with how it exited. Calls still pending
   * reject: with a {@link WorkerExitedError}, unless the worker answered
   * them before it exited (a Go worker may answer with its handler's
   * error).
   */
  close(options?: CloseOptions): Promise<ExitStatus>;
}

export interface ForkOptions {
  /** The worker's environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The worker's working directory (default the current one). */
  cwd?: string | URL;
  /**
   * stdio of fds 0-2: one value for all three, or an array of up to three.
   * Default `'inherit'`. fd 3 is always the channel.
   */
  stdio?: IOType | ReadonlyArray<IOType | Stream | number | null | undefined>;
  /** The channel's serialization (default `'json'`). */
  serialization?: Serialization;
}

/**
 * Starts `file` with `args` and an IPC channel at fd 3, and returns its
 * {@link Client}. `file` is a program: a Go worker binary, or
 * `process.execPath` with a Node worker script as the first argument.
 * A spawn failure (ENOENT, ...) does not throw: the client's calls reject
 * with it and {@link Client.exited} carries it.
 */
export function fork(file: string, args?: readonly string[], options?: ForkOptions): Client;

/** The envelope's error object, as {@link errorToObject} makes it. */
export interface ErrorObject {
  name: string;
  message: string;
  stack: string;
  [property: string]: unknown;
}

/**
 * The envelope's error object for a thrown value: an error's own
 * properties (except functions, symbols and bigints) plus `name`,
 * `message` and `stack`; a thrown non-object becomes an `Error` with its
 * string as the message.
 */
export function errorToObject(err: unknown): ErrorObject;

/**
 * Rebuilds an error from the envelope's error object, as {@link Client.call}
 * does (see {@link WorkerCallError}). A non-object becomes an `Error` with
 * its string as the message.
 */
export function objectToError(obj: unknown): WorkerCallError;
