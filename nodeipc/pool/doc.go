// Package pool runs calls on worker processes over nodeipc channels, and
// serves them in a worker: the request/response envelope of Node's
// workerpool (PROTOCOL.md §10), spoken by Go and Node workers alike.
//
// In the parent, New starts a Pool of workers (Node scripts using the npm
// package @nodeipc/node or workerpool.worker(), Go programs using Serve, or
// both) and Pool.Do runs a Call on the least-loaded one: crashed and hung
// workers are replaced, workers can be recycled, and Close stops them with
// a ladder of signals. A method's own failure is a *CallError; a worker
// that died first is a *WorkerError.
//
// In a Go worker, Serve answers the calls of any of the parents it knows:
// a Pool, workerpool (DialectWorkerpool), jest-worker (DialectJestWorker)
// and worker-farm (DialectWorkerFarm), detected from the first message.
// Each method is a Handler, which gets its parameters and can send
// progress events through its Request.
//
// The package uses nothing but nodeipc's exported Channel API.
package pool
