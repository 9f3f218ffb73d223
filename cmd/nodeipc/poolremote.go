package main

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"

	"nodeipc.dev/nodeipc/pool"
	"nodeipc.dev/nodeipc/remote"
)

// poolRunner is what runPool needs from a pool: the local *pool.Pool,
// or a remote pool's client.
type poolRunner interface {
	Do(ctx context.Context, c *pool.Call) error
	Stats() pool.Stats
	Close() error
}

// poolRemoteFlags are pool's flags for a remote pool.
func poolRemoteFlags() []cli.Flag {
	return append(natsFlags("submit the calls to the agents of pool --pool on this NATS server instead of starting workers"),
		&cli.DurationFlag{Name: "heartbeat", Usage: "with --nats: how often to ping the agents running calls (0: 1s)"},
		&cli.DurationFlag{Name: "lost-after", Usage: "with --nats: silence after which an agent's calls fail (0: 3 heartbeats)"},
	)
}

// readPoolRemote returns the remote pool the flags name, or nil.
func readPoolRemote(cCtx *cli.Context) *poolRemote {
	c := readNATSFlags(cCtx)
	if c.URL == "" && c.Pool == "" {
		return nil
	}
	return &poolRemote{NATS: c, Heartbeat: cCtx.Duration("heartbeat"), LostAfter: cCtx.Duration("lost-after")}
}

// poolRemote is a remote pool to submit calls to.
type poolRemote struct {
	NATS      natsConfig
	Heartbeat time.Duration
	LostAfter time.Duration
}

// start connects to the remote pool.
func (r *poolRemote) start() (poolRunner, error) {
	if r.NATS.URL == "" || r.NATS.Pool == "" {
		return nil, errors.New("usage: --nats URL and --pool NAME go together")
	}
	nc, err := r.NATS.connect("nodeipc pool " + r.NATS.Pool)
	if err != nil {
		return nil, err
	}
	c, err := remote.NewClient(nc, r.NATS.Pool, &remote.ClientOptions{Heartbeat: r.Heartbeat, LostAfter: r.LostAfter})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &remotePool{nc: nc, Client: c}, nil
}

// remotePool adapts a remote.Client to poolRunner.
type remotePool struct {
	nc *nats.Conn
	*remote.Client
}

// Stats maps the client's counters on the local pool's.
func (p *remotePool) Stats() pool.Stats {
	s := p.Client.Stats()
	return pool.Stats{
		Ready:      s.Agents,
		Queued:     s.Waiting,
		InFlight:   s.InFlight,
		Calls:      s.Calls,
		Failures:   s.Failures,
		Canceled:   s.Canceled,
		LatencyP50: s.LatencyP50,
		LatencyP90: s.LatencyP90,
		LatencyP99: s.LatencyP99,
	}
}

// Close closes the client, then the connection.
func (p *remotePool) Close() error {
	err := p.Client.Close()
	p.nc.Close()
	return err
}
