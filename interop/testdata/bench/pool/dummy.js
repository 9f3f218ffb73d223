'use strict';
// The module path handed to workerpool when its workers are Go binaries
// (forkOpts.execPath): workerpool requires a path, the Go worker ignores it.
module.exports = {};
