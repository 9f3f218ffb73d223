'use strict';
// The package as users load it: its exports from CommonJS and ES modules,
// and its TypeScript declarations, compiled with tsc --strict against
// testdata/types (uses that must type-check, and misuses that must not).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { missing, run } = require('../testdata/support.js');

const dir = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const api = ['Client', 'errorToObject', 'fork', 'objectToError', 'worker'];

describe('the package', () => {
  it('exports the API by its name, to require and import', async () => {
    assert.deepEqual(Object.keys(require(pkg.name)).sort(), api);
    const esm = await import(pkg.name);
    assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), api);
    assert.equal(esm.fork, require(pkg.name).fork);
  });

  it('publishes the files its exports name', () => {
    const published = new Set(pkg.files);
    for (const file of [pkg.main, pkg.types, pkg.exports['.'].types, pkg.exports['.'].default]) {
      assert.ok(published.has(path.normalize(file)), `${file} is not in "files"`);
      assert.ok(fs.existsSync(path.join(dir, file)), `${file} does not exist`);
    }
  });

  it('declares every export in index.d.ts, and the declarations compile', async (t) => {
    const dts = fs.readFileSync(path.join(dir, 'index.d.ts'), 'utf8');
    for (const name of api) assert.match(dts, new RegExp(`^export (function|class) ${name}\\b`, 'm'));
    let tsc;
    try {
      tsc = path.join(path.dirname(require.resolve('typescript/package.json', { paths: [dir] })), 'bin', 'tsc');
    } catch (err) {
      return missing(t, `typescript is not installed (npm ci --prefix js): ${err.message}`);
    }
    const r = await run(process.execPath, [tsc, '-p', path.join(dir, 'testdata', 'types', 'tsconfig.json')], { cwd: dir });
    assert.equal(r.code, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  });
});
