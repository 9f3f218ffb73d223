'use strict';
// The README's demo: a Node child that answers each message from its Go
// parent (`nodeipc run examples/hello.js`), then exits when the parent
// disconnects.
process.on('message', (msg) => {
  process.send({
    from: `node ${process.version}`,
    echo: msg,
    types: Object.fromEntries(Object.entries(msg).map(([k, v]) => [k, typeof v])),
  });
});
process.on('disconnect', () => {
  console.log('node: parent disconnected, exiting');
});
