'use strict';
// The module path handed to workerpool, worker-farm and jest-worker when
// their workers are Go binaries (execPath): the pools require a path, the Go
// worker ignores it. Nothing loads this file.
module.exports = {};
