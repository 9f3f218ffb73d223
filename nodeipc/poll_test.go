//go:build unix

package nodeipc

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestPollPolicyLearnsFromMisses(t *testing.T) {
	defer func(v bool) { multiCPU = v }(multiCPU)
	multiCPU = true
	var p pollPolicy
	if p.budget() != pollFor {
		t.Fatal("a new channel does not poll")
	}
	for range 20 { // a slow peer: every poll misses
		p.result(false)
	}
	polls := 0
	for range 10 * pollProbe {
		if b := p.budget(); b > 0 {
			if b != pollFast {
				t.Fatalf("a probe polls for %v; want %v", b, pollFast)
			}
			polls++
			p.result(false)
		}
	}
	if polls != 10 {
		t.Fatalf("after misses, %d of %d empty reads polled; want one in %d", polls, 10*pollProbe, pollProbe)
	}
	// The peer speeds up: the probes find data, and a few of them turn
	// polling back on.
	for range 8 * pollProbe {
		if p.budget() > 0 {
			p.result(true)
		}
	}
	for i := range 100 {
		if p.budget() == 0 {
			t.Fatalf("after hits, empty read %d did not poll", i)
		}
		p.result(true)
	}
}

func TestPollPolicyNeverPollsOnOneCPU(t *testing.T) {
	defer func(v bool) { multiCPU = v }(multiCPU)
	multiCPU = false
	var p pollPolicy
	for range 100 {
		if p.budget() != 0 {
			t.Fatal("polled with one CPU")
		}
	}
}

// readPollingPair returns a bare Channel (no goroutines: the test is its
// only reader) over one end of a socket pair, and the other end. Polling
// is on whatever the CPU count of the machine running the test.
func readPollingPair(t *testing.T) (*Channel, *net.UnixConn) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("polling is done on Linux only")
	}
	saved := multiCPU
	multiCPU = true
	t.Cleanup(func() { multiCPU = saved })
	mine, peer := unixPair(t)
	c := &Channel{}
	c.t.init(mine)
	return c, peer
}

func TestReadPollingHitReadsTheData(t *testing.T) {
	defer func(d, f time.Duration) { pollFor, pollFast = d, f }(pollFor, pollFast)
	pollFor, pollFast = 10*time.Second, 10*time.Second // the write below lands long before
	c, peer := readPollingPair(t)
	go func() {
		time.Sleep(time.Millisecond)
		peer.Write([]byte("hello\n"))
	}()
	pol := pollPolicy{miss: pollScale / 2}
	buf := make([]byte, 64)
	n, err := c.t.readPolling(buf, make([]byte, oobSize), &pol, &fdBatch{})
	if err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("readPolling = %q, %v; want hello", buf[:n], err)
	}
	if pol.miss >= pollScale/2 {
		t.Fatalf("a poll that found data left the miss rate at %d", pol.miss)
	}
}

// TestReadPollingSlowHitCountsAsMiss: a poll that finds data only after
// pollFast returns it, and tells the policy it did not pay.
func TestReadPollingSlowHitCountsAsMiss(t *testing.T) {
	defer func(d, f time.Duration) { pollFor, pollFast = d, f }(pollFor, pollFast)
	pollFor, pollFast = 10*time.Second, time.Microsecond
	c, peer := readPollingPair(t)
	go func() {
		time.Sleep(time.Millisecond)
		peer.Write([]byte("late\n"))
	}()
	var pol pollPolicy
	buf := make([]byte, 64)
	n, err := c.t.readPolling(buf, make([]byte, oobSize), &pol, &fdBatch{})
	if err != nil || string(buf[:n]) != "late\n" {
		t.Fatalf("readPolling = %q, %v; want late", buf[:n], err)
	}
	if pol.miss <= 0 {
		t.Fatalf("a poll that waited past pollFast left the miss rate at %d", pol.miss)
	}
}

func TestReadPollingMissParksUntilDeadline(t *testing.T) {
	c, _ := readPollingPair(t)
	var pol pollPolicy
	c.t.uc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := c.t.readPolling(make([]byte, 64), make([]byte, oobSize), &pol, &fdBatch{})
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("readPolling on a silent peer = %d, %v; want the deadline", n, err)
	}
	if pol.miss <= 0 {
		t.Fatalf("a poll that found nothing left the miss rate at %d", pol.miss)
	}
}

func TestReadPollingReportsEOF(t *testing.T) {
	c, peer := readPollingPair(t)
	peer.Close()
	var pol pollPolicy
	_, err := c.t.readPolling(make([]byte, 64), make([]byte, oobSize), &pol, &fdBatch{})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("readPolling after the peer closed = %v; want EOF", err)
	}
}
