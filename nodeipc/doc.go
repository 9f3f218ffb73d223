// Package nodeipc speaks Node.js's child_process IPC channel natively, in
// both roles.
//
// There is one entry point per role:
//
//   - FromEnv, in a Go program started by Node with fork() or
//     spawn(..., {stdio: [..., 'ipc']}): it adopts the channel Node passed in
//     NODE_CHANNEL_FD.
//   - Start, in a Go program that starts a child (a Node script, another Go
//     program, anything) with a channel, the way fork() does. NodeCommand
//     builds the *exec.Cmd for a Node script.
//   - NewChannel, for a socket you already hold, and Pipe, for a connected
//     pair in one process (tests and examples).
//
// A Channel sends Go values with Send and receives messages with Recv, in
// either of Node's serializations: "json" (one JSON.stringify(msg)+"\n" per
// message) or "advanced" (a big-endian u32 length and V8 ValueSerializer
// data). Node's internal NODE_* messages are handled by the channel and never
// reach Recv; handles (sockets, servers, pipes) travel with SendHandle and
// Message.Handle, and JoinCluster makes a Go program a worker of Node's
// cluster module.
//
// Related packages: nodeipc/pool runs calls on pools of Node and Go workers
// (and makes a Go program a worker with pool.Serve); nodeipc/v8 reads and
// writes the V8 serialization format on its own; nodeipc/jsvalue holds the
// Go types of JavaScript values that JSON cannot carry (undefined, Map, Set,
// BigInt, typed arrays, ...).
//
// A receiving loop that calls Recv, handles the message and Sends a reply
// runs on its own goroutine, without hand-offs to the channel's goroutines
// (see Channel). A receiver done with a message can call Message.Release to
// let the channel reuse its memory; one that forwards or inspects untyped
// values can decode them with Message.Value into memory that Release
// recycles too.
//
// # Wire format
//
// The wire format and every behaviour choice (bad input, disconnect,
// backpressure) are written down in PROTOCOL.md next to this file; how the
// engine works is in docs/design.md in the repository.
package nodeipc
