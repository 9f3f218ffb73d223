'use strict';
// A Node child started by a Go parent: serves on every handle it receives
// and reports what it got ({got: kind, handle: <Node class>}).
const { serve, describe } = require('./serve.js');

process.on('message', (m, h) => {
  if (m && m.i !== undefined) {
    // Order check: echo the index, and what came with it.
    if (h) h.destroy ? h.destroy() : h.close();
    process.send({ i: m.i, handle: describe(h) });
    return;
  }
  const served = h ? serve(m, h) : false;
  process.send({ got: m && m.kind, handle: describe(h), served });
});
