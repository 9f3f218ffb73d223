// Type declarations for nodeipc-worker.js (see nodeipc/PROTOCOL.md §10).

import type { ChildProcess, StdioOptions } from 'node:child_process';

/** What `this` is inside a method served by worker(). */
export interface CallContext {
  /** Aborts when the caller cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  /** Sends a progress event for this call to the caller. */
  emit(payload: unknown): void;
}

export type Method = (this: CallContext, ...params: any[]) => unknown;

export interface WorkerOptions {
  /** Called when sending a reply fails (the parent went away). */
  onSendError?: (err: Error) => void;
}

/**
 * Serves methods to the parent (a nodeipc Pool, or workerpool) over the IPC
 * channel, then exits on the terminate message or when the parent goes away.
 */
export function worker(methods: Record<string, Method>, options?: WorkerOptions): void;

export interface CallOptions {
  /** Receives the call's progress events, in order. */
  onEvent?: (payload: any) => void;
  /** Cancels the call; the worker is told to clean up. */
  signal?: AbortSignal;
  /** Cancels the call after this many milliseconds. */
  timeout?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the worker could not be started at all (e.g. ENOENT). */
  error?: Error;
}

export interface CloseOptions {
  /** ms between the terminate message and SIGTERM (default 1000). */
  stopTimeout?: number;
  /** ms between SIGTERM and SIGKILL (default 1000). */
  killTimeout?: number;
}

/** A worker started by fork(). */
export class Client {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Resolves when the worker has exited. */
  readonly exited: Promise<ExitStatus>;
  /**
   * Calls method with params. Rejects with the worker's error rebuilt as an
   * Error (TypeError stays TypeError; own properties such as code are
   * copied), with an AbortError/TimeoutError when cancelled, or with an
   * error whose code is 'ERR_WORKER_EXITED' when the worker dies (or the
   * spawn error, e.g. ENOENT, when it could not be started).
   */
  call<T = any>(method: string, params?: unknown[], options?: CallOptions): Promise<T>;
  /** Stops the worker: terminate message, then SIGTERM, then SIGKILL. */
  close(options?: CloseOptions): Promise<ExitStatus>;
}

export interface ForkOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdio for fds 0-2 (fd 3 is always the channel). Default 'inherit'. */
  stdio?: 'inherit' | 'pipe' | 'ignore' | StdioOptions;
  /** Only 'json' until the Go side supports 'advanced'. */
  serialization?: 'json' | 'advanced';
}

/** Starts a Go worker (nodeipc.Serve) with an IPC channel at fd 3. */
export function fork(file: string, args?: readonly string[], options?: ForkOptions): Client;

/** The envelope's error object for a thrown value. */
export function errorToObject(err: unknown): { name: string; message: string; stack: string; [key: string]: unknown };

/** Rebuilds an Error from the envelope's error object. */
export function objectToError(obj: unknown): Error;
