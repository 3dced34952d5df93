package rankio

import (
	"bytes"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestRankFromEnv(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		rank int
		ok   bool
	}{
		{map[string]string{"OMPI_COMM_WORLD_RANK": "3", "SLURM_PROCID": "9"}, 3, true},
		{map[string]string{"PMI_RANK": "4"}, 4, true},
		{map[string]string{"PMIX_RANK": "1"}, 1, true},
		{map[string]string{"SLURM_PROCID": "7"}, 7, true},
		{map[string]string{"PMI_RANK": "x"}, 0, false},
		{nil, 0, false},
	} {
		rank, ok := RankFromEnv(func(k string) string { return tt.env[k] })
		if rank != tt.rank || ok != tt.ok {
			t.Errorf("RankFromEnv(%v) = %d, %v", tt.env, rank, ok)
		}
	}
}

func TestRankIOWithoutKernel(t *testing.T) {
	// the rank variables of a launcher the test may run under (srun sets
	// PMIX_RANK and SLURM_PROCID) are cleared: only PMI_RANK names one
	t.Setenv(EnvVar, "")
	for _, k := range rankEnvVars() {
		t.Setenv(k, "")
	}
	t.Setenv("PMI_RANK", "5")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--", "/bin/sh", "-c", "printf 'x\\ny'; echo e >&2"}, &stdout, &stderr)
	if code != 0 || stdout.String() != "[rank 5] x\n[rank 5] y\n" || stderr.String() != "[rank 5] e\n" {
		t.Errorf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	if code := Main([]string{"--", "/nonexistent/program"}, &stdout, &stderr); code != 127 {
		t.Errorf("a missing program: exit %d", code)
	}
}

func TestAddress(t *testing.T) {
	spec := "10.0.0.5:4000,127.0.0.1:4000;tok;head"
	for _, tt := range []struct {
		spec, host string
		addrs      []string
	}{
		{spec, "head", []string{"10.0.0.5:4000", "127.0.0.1:4000"}},
		{spec, "node7", []string{"10.0.0.5:4000"}}, // elsewhere, loopback is someone else
		{"127.0.0.1:1;tok", "x", []string{"127.0.0.1:1"}},
		{"bad,[::1]:2;tok;x", "x", []string{"[::1]:2"}},
	} {
		a := ParseAddress(tt.spec)
		if got := a.From(tt.host); a.Token != "tok" || !reflect.DeepEqual(got, tt.addrs) {
			t.Errorf("ParseAddress(%q).From(%q) = %q, token %q", tt.spec, tt.host, got, a.Token)
		}
	}
	a := Address{Addrs: []string{"10.0.0.5:4000", "127.0.0.1:4000"}, Token: "tok", Host: "head"}
	if s := a.String(); s != spec || !reflect.DeepEqual(ParseAddress(s), a) {
		t.Errorf("String = %q, parsed back %+v", s, ParseAddress(s))
	}
}

func TestDialAnyFirstAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// 192.0.2.1 (TEST-NET-1) never answers: the dial must not wait for it
	start := time.Now()
	c, err := dialAny([]string{"192.0.2.1:9", ln.Addr().String()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := dialAny([]string{"127.0.0.1:1"}, time.Second); err == nil {
		t.Error("a refused address connected")
	}
}
