'use strict';
// What the tests in ../test share: where the fixtures are, the Go worker
// build, and the rule for missing tools.

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const nodeWorker = path.join(__dirname, 'node-worker.js');

// strict is true where a missing tool (go, typescript) must fail the tests
// instead of skipping them: in CI, and with NODEIPC_INTEROP=1.
const strict = Boolean(process.env.CI) || process.env.NODEIPC_INTEROP === '1';

// missing skips test t with reason, or fails it in strict mode.
function missing(t, reason) {
  if (strict) throw new Error(`${reason} (CI or NODEIPC_INTEROP=1: a missing tool fails the test)`);
  t.skip(reason);
}

// buildGoWorker builds interop/testdata/goworker into a temporary
// directory and returns {bin, dir}, or {error} when there is no go.
function buildGoWorker() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeipc-js-test-'));
  const bin = path.join(dir, 'goworker');
  try {
    execFileSync('go', ['build', '-o', bin, './interop/testdata/goworker'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (err.code === 'ENOENT') return { error: `go not found: ${err.message}` };
    throw new Error(`go build ./interop/testdata/goworker: ${err.message}\n${err.stderr}`);
  }
  return { bin, dir };
}

// run starts a process and resolves with {code, signal, stdout, stderr}
// once it has exited.
function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

module.exports = { root, nodeWorker, strict, missing, buildGoWorker, run };
