'use strict';
// Echo child for the reliability suite: sends every message back until the
// parent disconnects.
process.on('message', (m) => process.send(m));
