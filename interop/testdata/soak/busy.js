'use strict';
// A child whose event loop always has work: it answers one message, then
// keeps a timer running whatever happens to the channel.
process.once('message', (m) => process.send(m));
process.on('disconnect', () => {});
setInterval(() => {}, 50);
