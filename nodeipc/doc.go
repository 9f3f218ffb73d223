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
// # Speed
//
// A loop that calls Recv, handles the message and Sends the reply runs on
// its own goroutine: Recv reads the socket itself and writes the replies
// queued since (see Channel). A receiver that is done with a message can
// call Message.Release to let the channel reuse its memory.
//
// A program that exchanges messages as fast as it can with a peer on the
// same machine, where the two processes need about one CPU each, may run
// faster with GOMAXPROCS=1 (the environment variable, or
// runtime.GOMAXPROCS(1) in main): the runtime's second P runs its
// background work (the garbage collector's workers, the sweeper) and
// wakes threads on the CPU the peer is using. On a 2-vCPU machine a
// Go↔Go pipeline ran 1.27M requests/s with GOMAXPROCS=1 against 853k
// with the default 2, and a Go child of a Node parent 1.25× Node↔Node
// against 1.17× (docs/bench in the repository). The library never sets
// it: a program that computes in parallel wants its CPUs.
//
// # Wire format
//
// The wire format and every behaviour choice (bad input, disconnect,
// backpressure) are written down in PROTOCOL.md next to this file.
package nodeipc
