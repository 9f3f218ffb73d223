// The package from an ES module: named imports of the CommonJS exports.
import { fork, worker } from '@nodeipc/node';
import type { Client } from '@nodeipc/node';

const c: Client = fork('./goworker');
await c.call<number>('add', [1, 2]);
worker({ ping: () => 'pong' });
