'use strict';
// workerpool runs a Node worker written with @nodeipc/node (js/; the
// envelope is workerpool's, so the helper is a drop-in worker) and prints
// what it observed.
const path = require('node:path');
const workerpool = require('workerpool');

const marker = process.argv[3]; // argv[2] is the Go worker, unused here

(async () => {
  const out = {};
  const pool = workerpool.pool(path.join(__dirname, 'node-worker.js'), { workerType: 'process', maxWorkers: 1 });
  out.add = await pool.exec('add', [2, 3]);
  const pid = await pool.exec('pid', []);
  try {
    await pool.exec('fail', ['boom']);
  } catch (e) {
    out.error = { isError: e instanceof Error, name: e.name, message: e.message, code: e.code };
  }
  const events = [];
  out.progress = await pool.exec('progress', [2], { on: (p) => events.push(p) });
  out.events = events;
  const blocked = pool.exec('block', [marker], { on: () => blocked.cancel() });
  try {
    await blocked;
  } catch (e) {
    out.cancel = e.name;
  }
  // The helper confirms the cleanup, so workerpool keeps the worker.
  out.samePid = (await pool.exec('pid', [])) === pid;
  const child = pool.workers[0].worker;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await pool.terminate();
  out.exit = await exited;
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
