package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/urfave/cli/v2"
)

// natsConfig is how to reach NATS: the flags shared by agent and pool.
type natsConfig struct {
	URL     string // empty: the agent embeds a server
	Pool    string
	Token   string
	NKey    string // NKey seed file
	Creds   string // JWT credentials file
	TLSCA   string
	TLSCert string
	TLSKey  string
}

// natsFlags are the connection flags; urlUsage says what --nats means to
// the command.
func natsFlags(urlUsage string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "nats", Usage: urlUsage},
		&cli.StringFlag{Name: "pool", Usage: "the pool's name: letters, digits, '-' and '_'"},
		&cli.StringFlag{Name: "token", Usage: "NATS authentication token (prefer the environment variable)", EnvVars: []string{"NODEIPC_NATS_TOKEN"}},
		&cli.StringFlag{Name: "nkey", Usage: "NATS NKey seed `FILE`"},
		&cli.StringFlag{Name: "creds", Usage: "NATS user credentials (JWT) `FILE`"},
		&cli.StringFlag{Name: "tls-ca", Usage: "CA certificate `FILE` to verify the NATS server (or, embedded, its clients)"},
		&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate `FILE`: the client's, or the embedded server's"},
		&cli.StringFlag{Name: "tls-key", Usage: "TLS key `FILE` of --tls-cert"},
	}
}

func readNATSFlags(cCtx *cli.Context) natsConfig {
	return natsConfig{
		URL:     cCtx.String("nats"),
		Pool:    cCtx.String("pool"),
		Token:   cCtx.String("token"),
		NKey:    cCtx.String("nkey"),
		Creds:   cCtx.String("creds"),
		TLSCA:   cCtx.String("tls-ca"),
		TLSCert: cCtx.String("tls-cert"),
		TLSKey:  cCtx.String("tls-key"),
	}
}

// connect connects to c.URL with c's credentials, as name.
func (c natsConfig) connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name)}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKey)
		if err != nil {
			return nil, fmt.Errorf("--nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		if c.TLSCert == "" || c.TLSKey == "" {
			return nil, errors.New("--tls-cert and --tls-key go together")
		}
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	nc, err := nats.Connect(c.URL, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", c.URL, err)
	}
	return nc, nil
}

// embeddedConfig is the NATS server an agent runs when it is given no URL.
type embeddedConfig struct {
	Listen     string // host:port
	MaxPayload int    // bytes; 0: the server's default (1 MiB)
}

// startEmbedded starts a NATS server on e.Listen, protected by c's token
// and TLS certificate if given.
func startEmbedded(e embeddedConfig, c natsConfig) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(e.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", e.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("--listen %q: bad port", e.Listen)
	}
	if e.MaxPayload < 0 || e.MaxPayload > 64<<20 {
		return nil, fmt.Errorf("--max-payload %d: want 0 (the default, 1 MiB) to 64 MiB", e.MaxPayload)
	}
	if c.NKey != "" || c.Creds != "" {
		return nil, errors.New("--nkey and --creds need an external NATS server (--nats); the embedded one takes --token and TLS")
	}
	// The server reports a failure to listen only in its log; find it here.
	if l, err := net.Listen("tcp", e.Listen); err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	} else {
		l.Close()
	}
	opts := &server.Options{
		Host:          host,
		Port:          port,
		NoLog:         true,
		NoSigs:        true,
		Authorization: c.Token,
		MaxPayload:    int32(e.MaxPayload),
	}
	if port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: c.TLSCert, KeyFile: c.TLSKey, CaFile: c.TLSCA, Verify: c.TLSCA != ""})
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		opts.TLS, opts.TLSConfig, opts.TLSVerify = true, tc, c.TLSCA != ""
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("NATS server on %s: not ready within 10s", e.Listen)
	}
	return s, nil
}

// isLoopback reports whether host is a loopback name or address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
