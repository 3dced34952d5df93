// Package launchtest helps tests that play the ranks of a launch: it
// connects to a collector as a rank's wrapper would, and waits, within a
// bound, for what the collector makes of it.
package launchtest

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// DialRank connects to the collector at addr (its loopback address, the
// last one) as the wrapper of rank would, saying hello with token.
func DialRank(t testing.TB, addr rankio.Address, token string, rank int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr.Addrs[len(addr.Addrs)-1])
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(rankio.Hello{Token: token, Rank: rank, Host: "test", PID: 1})
	if err := rankio.WriteFrame(conn, rankio.FrameHello, h); err != nil {
		t.Fatal(err)
	}
	return conn
}

// WaitFor polls cond every 5 ms and fails t if it is still false after 5 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
