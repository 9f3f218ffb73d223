// Package nodeipc speaks Node.js's child_process IPC channel natively.
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
// message) or "advanced" (a big-endian u32 length and V8
// ValueSerializer data). Node's internal NODE_* messages are handled by the
// library and never reach Recv.
//
// # Wire format
//
// The wire format and every behaviour choice (bad input, disconnect,
// backpressure) are written down in PROTOCOL.md next to this file.
package nodeipc
