// The package from an ES module, as README.md's TypeScript section uses
// it: named imports of the CommonJS exports, top-level await.
import { fork, worker, type CallContext } from '@nodeipc/node';
import type { Client } from '@nodeipc/node';

const go: Client = fork('./goworker', [], { serialization: 'advanced' });
const sum = await go.call<number>('add', [1, 2]);
sum.toFixed();
await go.call<string, { step: number }>('build', [], { onEvent: (e) => console.log(e.step) });

worker({
  async slow(this: CallContext, ms: number) {
    await new Promise((r) => setTimeout(r, ms));
    return this.signal.aborted;
  },
});
