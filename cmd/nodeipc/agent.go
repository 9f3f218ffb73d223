package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"

	"nodeipc.dev/nodeipc/remote"
)

// agentCommand is "nodeipc agent [flags] -- COMMAND [ARGS...]".
func agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "serve a pool's calls from NATS on a local pool of workers",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: `Starts --workers copies of COMMAND, as "nodeipc pool" does, and serves the
calls of pool --pool from the NATS server at --nats. Run one agent per host;
submit calls from anywhere with "nodeipc pool --nats URL --pool NAME" or the
Go package nodeipc.dev/nodeipc/remote.

Without --nats the agent runs a NATS server itself, on --listen (loopback by
default): other agents and clients connect to it. To serve other hosts,
listen on their network and protect the server with --token (or TLS with
--tls-cert and --tls-key).

The agent takes a call only when a worker slot is free (--workers ×
--concurrency slots) and answers "busy" otherwise; NATS offers it new calls
in proportion to its slots. workerpool's built-in "run" method, which runs
code sent by the caller, is refused unless --allow-run is given.

On SIGINT or SIGTERM the agent takes no new calls, lets the running ones end
(up to --drain-timeout; the others fail, idempotent ones move to another
agent), stops its workers and exits 0. A second signal kills it.

EXIT STATUS:
   0   stopped by a signal
   1   usage error, or NATS or the workers could not be started, or the NATS
       connection was closed for good`,
		Flags: append(append(workerFlags(),
			&cli.StringFlag{Name: "name", Usage: "the agent's name in errors (default HOSTNAME:PID)"},
			&cli.BoolFlag{Name: "allow-run", Usage: "serve workerpool's run method, which runs code sent by the caller"},
			&cli.DurationFlag{Name: "drain-timeout", Value: 30 * time.Second, Usage: "on a signal, how long running calls may go on"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:4222", Usage: "embedded NATS server address, without --nats (port 0: any)"},
			&cli.IntFlag{Name: "max-payload", Usage: "embedded NATS server's largest message in bytes (0: 1 MiB)"},
		), natsFlags("NATS server URL (default: run one embedded, see --listen)")...),
		Action: func(cCtx *cli.Context) error {
			ws, err := readWorkerSet(cCtx)
			cfg := agentConfig{
				workerSet:    ws,
				NATS:         readNATSFlags(cCtx),
				Name:         cCtx.String("name"),
				AllowRun:     cCtx.Bool("allow-run"),
				DrainTimeout: cCtx.Duration("drain-timeout"),
				Embedded:     embeddedConfig{Listen: cCtx.String("listen"), MaxPayload: cCtx.Int("max-payload")},
			}
			if cCtx.IsSet("listen") && cfg.NATS.URL != "" {
				return usagef("agent", "--listen is for the embedded server; it does not go with --nats")
			}
			if err != nil {
				return usagef("agent", "%v", err)
			}
			ctx := cCtx.Context
			if ctx == nil {
				ctx = context.Background()
			}
			return runAgent(ctx, cfg, cCtx.App.ErrWriter)
		},
	}
}

// agentConfig is what the flags say.
type agentConfig struct {
	workerSet
	NATS         natsConfig
	Name         string
	AllowRun     bool
	DrainTimeout time.Duration
	Embedded     embeddedConfig
}

// runAgent runs an agent until a signal (or ctx) stops it.
func runAgent(ctx context.Context, cfg agentConfig, stderr io.Writer) error {
	report := reporter(stderr, "agent")
	switch {
	case len(cfg.Args) == 0:
		return usagef("agent", "no COMMAND (nodeipc agent --pool NAME [flags] -- COMMAND [ARGS...])")
	case cfg.NATS.Pool == "":
		return usagef("agent", "no --pool NAME")
	case cfg.Workers <= 0 || cfg.Concurrency <= 0:
		return usagef("agent", "--workers and --concurrency must be at least 1")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	url := cfg.NATS.URL
	var extra []nats.Option
	if url == "" {
		srv, err := startEmbedded(cfg.Embedded, cfg.NATS)
		if err != nil {
			return setupErrorf("agent", "%v", err)
		}
		defer func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		}()
		url = srv.ClientURL()
		if srv.Addr() != nil {
			if host, _, _ := net.SplitHostPort(srv.Addr().String()); !isLoopback(host) && cfg.NATS.Token == "" && cfg.NATS.TLSCert == "" {
				report("warning: the embedded NATS server listens on %s without --token or TLS: whoever reaches it can run calls", srv.Addr())
			}
		}
		extra = append(extra, nats.InProcessServer(srv))
		url += " (embedded server)"
	} else {
		// An agent is a service: it keeps trying while the server is away.
		extra = append(extra, nats.MaxReconnects(-1))
	}
	closed := make(chan struct{})
	extra = append(extra, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	nc, err := cfg.NATS.connect("nodeipc agent "+cfg.NATS.Pool, extra...)
	if err != nil {
		return setupErrorf("agent", "%v", err)
	}
	defer nc.Close()

	agent, err := remote.NewAgent(nc, cfg.NATS.Pool, cfg.options(stderr), &remote.AgentOptions{Name: cfg.Name, AllowRun: cfg.AllowRun})
	if err != nil {
		return setupErrorf("agent", "%v", err)
	}
	report("serving pool %q as %s with %d workers × %d on %s", cfg.NATS.Pool, agent.Name(), cfg.Workers, cfg.Concurrency, url)

	var lost bool
	select {
	case <-ctx.Done():
	case <-closed:
		lost = true
	}
	stop() // a second signal kills the agent (its workers die with it)
	if n := agent.Stats().Running; n > 0 && !lost {
		report("stopping: letting %d running calls end (up to %v)", n, cfg.DrainTimeout)
	}
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	err = agent.Shutdown(dctx)
	cancel()
	s := agent.Stats()
	report("%d calls, %d turned away busy, %d refused, %d cancelled", s.Calls, s.Busy, s.Refused, s.Canceled)
	if err != nil {
		report("%v", err)
	}
	if lost {
		return setupErrorf("agent", "the NATS connection was closed: %v", nc.LastError())
	}
	return nil
}
