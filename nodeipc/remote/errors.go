package remote

import "errors"

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrNoAgents means that no agent serves the pool: NATS answered the
	// call with "no responders" at once. It is returned immediately,
	// never after a wait.
	ErrNoAgents = errors.New("nodeipc: remote: no agent serves pool")

	// ErrAgentLost is the cause (WorkerError.Err) of a call whose agent
	// went away while it ran: the agent's connection to NATS ended, it
	// stopped answering the client's pings for the lost-after interval,
	// it was stopped, or it never acknowledged the call. The call may have
	// run, in part or in full.
	ErrAgentLost = errors.New("nodeipc: remote: agent lost")

	// ErrRefused means the agent refused to run the call: workerpool's
	// built-in "run" method without AgentOptions.AllowRun, parameters
	// that are not a JSON array, or a protocol version the agent does not
	// speak. The call did not run.
	ErrRefused = errors.New("nodeipc: remote: call refused")
)
