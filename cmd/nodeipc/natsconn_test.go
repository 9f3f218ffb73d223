package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"nodeipc.dev/internal/remotetest"
)

// An NKey seed file passes through to NATS.
func TestNATSConnectNKey(t *testing.T) {
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := remotetest.Server(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})

	nc, err := natsConfig{URL: srv.ClientURL(), NKey: seedFile}.connect("test")
	if err != nil {
		t.Fatalf("connect with the NKey: %v", err)
	}
	nc.Close()
	if nc, err := (natsConfig{URL: srv.ClientURL()}).connect("test"); err == nil {
		nc.Close()
		t.Error("connect without the NKey succeeded")
	}
	if _, err := (natsConfig{URL: srv.ClientURL(), NKey: filepath.Join(t.TempDir(), "missing")}).connect("test"); err == nil || !strings.Contains(err.Error(), "--nkey") {
		t.Errorf("connect with a missing seed file = %v; want an error naming --nkey", err)
	}
}

// The embedded server serves TLS with --tls-cert/--tls-key; a client
// verifies it with --tls-ca.
func TestNATSEmbeddedTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSignedCert(t, dir)
	srv, err := startEmbedded(embeddedConfig{Listen: "127.0.0.1:0"}, natsConfig{TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	url := srv.ClientURL()
	if !strings.HasPrefix(url, "tls://127.0.0.1:") {
		t.Fatalf("embedded server URL %s; want TLS on loopback", url)
	}
	nc, err := natsConfig{URL: url, TLSCA: cert}.connect("test")
	if err != nil {
		t.Fatalf("connect with the CA: %v", err)
	}
	if !nc.TLSRequired() {
		t.Error("the connection is not TLS")
	}
	nc.Close()
	if nc, err := (natsConfig{URL: url}).connect("test"); err == nil {
		nc.Close()
		t.Error("connect without the CA succeeded; want a certificate error")
	}
}

func TestNATSEmbeddedBadSetup(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		e    embeddedConfig
		c    natsConfig
		want string
	}{
		{embeddedConfig{Listen: "nohost"}, natsConfig{}, "--listen"},
		{embeddedConfig{Listen: "127.0.0.1:x"}, natsConfig{}, "bad port"},
		{embeddedConfig{Listen: l.Addr().String()}, natsConfig{}, "address already in use"},
		{embeddedConfig{Listen: "127.0.0.1:0", MaxPayload: -1}, natsConfig{}, "--max-payload"},
		{embeddedConfig{Listen: "127.0.0.1:0"}, natsConfig{NKey: "seed"}, "external NATS server"},
	} {
		if srv, err := startEmbedded(tc.e, tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			if srv != nil {
				srv.Shutdown()
			}
			t.Errorf("startEmbedded(%+v, %+v) = %v; want an error with %q", tc.e, tc.c, err, tc.want)
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 that is its own CA,
// and its key, to dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nodeipc test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// An agent's embedded server listens on loopback unless told otherwise.
func TestAgentListensOnLoopbackByDefault(t *testing.T) {
	for _, f := range agentCommand().Flags {
		if sf, ok := f.(interface{ GetDefaultText() string }); ok && f.Names()[0] == "listen" {
			host, _, err := net.SplitHostPort(strings.Trim(sf.GetDefaultText(), `"`))
			if err != nil || !isLoopback(host) {
				t.Errorf("--listen defaults to %s; want a loopback address", sf.GetDefaultText())
			}
			return
		}
	}
	t.Fatal("agent has no --listen flag")
}

func TestAgentAndRemotePoolUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--pool", "p"}, "no COMMAND"},
		{[]string{"agent", "--", "true"}, "no --pool"},
		{[]string{"agent", "--pool", "p", "--nats", "nats://127.0.0.1:1", "--listen", "127.0.0.1:0", "--", "true"}, "--listen is for the embedded server"},
		{[]string{"agent", "--pool", "p", "-n", "0", "--", "true"}, "at least 1"},
		{[]string{"agent", "--pool", "bad.name", "--listen", "127.0.0.1:0", "--", "true"}, "pool name"},
		{[]string{"pool", "--nats", "nats://127.0.0.1:1", "--pool", "p", "--", "true"}, "no COMMAND with --nats and --pool"},
		{[]string{"pool", "--pool", "p"}, "--nats URL and --pool NAME go together"},
		{[]string{"pool", "--nats", "nats://127.0.0.1:1", "--pool", "p"}, "connect to NATS"},
	} {
		var stdout, stderr strings.Builder
		code := runApp(append([]string{"nodeipc"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
		if code != exitSetup || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("nodeipc %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr.String(), exitSetup, tc.want)
		}
	}
}
