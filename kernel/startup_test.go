package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestStartEngineAfterListening checks the start-up order: every port
// accepts connections before the engine (the interpreter process, in mpigo)
// is started, so a front end that connects at once never meets a closed
// port and libzmq's reconnect back-off.
func TestStartEngineAfterListening(t *testing.T) {
	var mu sync.Mutex
	var calls int
	var closed []string
	tk := startKernelWith(t, func(cfg *Config) {
		file := cfg.ConnectionFile
		cfg.Engine = nil
		cfg.StartEngine = func() (Engine, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			ci, err := ReadConnectionFile(file)
			if err != nil {
				return nil, err
			}
			for _, port := range []int{ci.ShellPort, ci.ControlPort, ci.StdinPort, ci.IOPubPort, ci.HBPort} {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					closed = append(closed, err.Error())
					continue
				}
				c.Close()
			}
			return &fakeEngine{gate: make(chan struct{})}, nil
		}
	})
	id := tk.client.send(tk.client.shell, "kernel_info_request", map[string]any{})
	if r := tk.client.reply(tk.client.shell, id); r.Header.MsgType != "kernel_info_reply" {
		t.Fatalf("got %s", r.Header.MsgType)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("StartEngine called %d times, want once", calls)
	}
	if len(closed) > 0 {
		t.Errorf("ports not accepting connections when the engine started: %s", strings.Join(closed, "; "))
	}
}

// TestStartEngineFailure checks that a failed engine start ends Run with
// the error and releases the ports.
func TestStartEngineFailure(t *testing.T) {
	p := freePorts(t, 5)
	ci := ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1], StdinPort: p[2],
		ControlPort: p[3], HBPort: p[4], Key: "k", SignatureScheme: "hmac-sha256"}
	file := filepath.Join(t.TempDir(), "kernel.json")
	data, _ := json.Marshal(ci)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("no interpreter")
	err := Run(context.Background(), Config{ConnectionFile: file, Logger: testLogger(t),
		StartEngine: func() (Engine, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ci.ShellPort))
	if err != nil {
		t.Fatalf("shell port still held after the failed start: %v", err)
	}
	l.Close()
}
