// Package remote runs the calls of a nodeipc pool across machines over
// NATS (https://nats.io): agents serve a pool's calls on their hosts'
// workers, and clients submit calls with the local pool's API.
//
// Use NewAgent on each host to run a local pool of workers (Node or Go,
// unchanged: the same workers as pool.New) and serve the calls of a
// named pool with it. Use NewClient anywhere to submit calls to that pool:
// Client.Do takes a *pool.Call and returns the local pool's errors
// (*pool.CallError, *pool.WorkerError, the context's error). Both
// take a connected *nats.Conn, so every NATS option (servers, TLS, token,
// NKey, credentials, reconnects) is the caller's; the nodeipc command
// ("nodeipc agent", "nodeipc pool --nats") can also embed a NATS server.
//
// # Placement
//
// A new call goes to the pool's queue group, where NATS picks one
// subscription at random; an agent holds one subscription per slot, so
// agents get new calls in proportion to their slots. An agent takes a
// call only into a free slot and answers "busy" otherwise. Turned-away
// calls wait in the client, in order, and go to an agent as soon as it
// says it has room: in the answer to one of the client's calls, in a
// notice it sends to the clients it turned away, or in answer to a probe
// the client sends to every agent, with exponential backoff.
//
// # Delivery
//
// Calls are delivered at most once, as in the local pool. A call runs on
// the agent that accepted it or not at all; an agent that is lost while
// running it fails it with ErrAgentLost, unless the call is marked
// Idempotent: then the client sends it again (ClientOptions.Retries), so
// it may run more than once. A worker that dies is handled by the agent's
// local pool first (which retries idempotent calls on another worker).
//
// # Liveness
//
// A client pings each agent that runs its calls every Heartbeat. An agent
// whose process or connection is gone makes NATS answer "no responders"
// at once, so its calls fail within one Heartbeat; an agent that stays
// connected but silent is given up after LostAfter. The agent applies the
// same LostAfter to the client's pings and cancels the calls of a client
// that went away.
//
// The wire protocol (subjects, headers, message kinds) is specified in
// PROTOCOL.md beside this package.
package remote
