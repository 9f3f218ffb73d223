// Compiled (not run) by test/types.test.js with tsc --strict: every use
// here must type-check, and every line after @ts-expect-error must not.
// It loads the package by its name, as users do.
import { Client, errorToObject, fork, objectToError, worker } from '@nodeipc/node';
import type { CallContext, CallOptions, ErrorObject, ExitStatus, ForkOptions, Method, Methods, Serialization, WorkerCallError, WorkerExitedError } from '@nodeipc/node';
import { fork as nodeFork, spawn } from 'node:child_process';

// worker(): methods get `this` without annotations.
worker({
  add: (a: number, b: number) => a + b,
  async slow(ms: number) {
    const signal: AbortSignal = this.signal;
    this.emit({ progress: 0.5 });
    await new Promise((resolve) => setTimeout(resolve, ms));
    return signal.aborted;
  },
  sync() {
    // @ts-expect-error CallContext has only signal and emit
    this.nope();
  },
});
worker({ m() {} }, { onSendError: (err: Error) => console.error(err.message) });
// @ts-expect-error methods are functions
worker({ add: 1 });
// @ts-expect-error onSendError takes an Error
worker({}, { onSendError: (err: string) => err });

const typed: Method = function (this: CallContext, x: unknown) { return x; };
const all: Methods = { typed };
void all;

// fork() and Client.
async function client(): Promise<void> {
  const serialization: Serialization = 'advanced';
  const options: ForkOptions = { env: { ...process.env, X: '1' }, cwd: '/tmp', stdio: ['ignore', 'pipe', 'inherit'], serialization };
  const c: Client = fork('./goworker', ['--flag'], options);
  fork(process.execPath, ['worker.js'], { stdio: 'ignore', serialization: 'json' });
  const pid: number | undefined = c.pid;
  void pid;
  c.child.stderr?.on('data', () => {});

  const sum = await c.call<number>('add', [1, 2]);
  sum.toFixed();
  const any = await c.call('echo', [{ a: 1 }]);
  // @ts-expect-error results are unknown until typed
  any.a;

  const opts: CallOptions<{ step: number }> = { onEvent: (e) => e.step.toFixed(), signal: AbortSignal.timeout(10), timeout: 5 };
  await c.call<string, { step: number }>('progress', [3], opts);
  await c.call('progress', [3], { onEvent: (e) => e });

  const status: ExitStatus = await c.close({ stopTimeout: 100, killTimeout: 100 });
  const code: number | null = status.code;
  const signal: NodeJS.Signals | null = status.signal;
  const error: Error | undefined = status.error;
  void [code, signal, error];
  const exited: ExitStatus = await c.exited;
  void exited;

  try {
    await c.call('fail');
  } catch (e) {
    const err = e as WorkerCallError | WorkerExitedError;
    if ('code' in err && err.code === 'ERR_WORKER_EXITED') console.error('exited');
  }

  const wrapped = new Client(nodeFork('worker.js'));
  void wrapped;

  // @ts-expect-error file is a string
  fork(1);
  // @ts-expect-error no such serialization
  fork('w', [], { serialization: 'v8' });
  // @ts-expect-error args are strings
  fork('w', [1]);
  // @ts-expect-error params are an array
  c.call('add', 1);
  // @ts-expect-error timeout is a number
  c.call('add', [], { timeout: '5' });
  // @ts-expect-error a Client wraps a ChildProcess
  new Client();
  // @ts-expect-error pid is read-only
  c.pid = 1;
  void spawn;
}
void client;

// The envelope's error helpers.
const obj: ErrorObject = errorToObject(new TypeError('x'));
const name: string = obj.name;
const extra: unknown = obj.code;
const err: WorkerCallError = objectToError(obj);
const e: Error = err;
const prop: unknown = err.code;
void [name, extra, e, prop];
