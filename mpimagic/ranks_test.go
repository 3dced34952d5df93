package mpimagic

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
)

func TestParsePx(t *testing.T) {
	tests := []struct {
		args  []string
		ranks []int
		out   string
		help  bool
		err   string
	}{
		{nil, nil, "", false, ""},
		{[]string{"--ranks", "3,0-1,1"}, []int{0, 1, 3}, "", false, ""},
		{[]string{"--out", "xs"}, nil, "xs", false, ""},
		{[]string{"--help"}, nil, "", true, ""},
		{[]string{"--ranks", "2-1"}, nil, "", false, `--ranks "2-1": want ranks`},
		{[]string{"--out", "x-y"}, nil, "", false, `--out "x-y": want a Go identifier`},
		{[]string{"extra"}, nil, "", false, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, help, err := parsePx(tt.args)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || help != tt.help || !reflect.DeepEqual(c.Ranks, tt.ranks) || c.Out != tt.out {
				t.Errorf("parsePx = %+v, %v, %v", c, help, err)
			}
		})
	}
}

func TestRanksUsage(t *testing.T) {
	m := New(Config{Environ: testEnviron, Logger: quietLog})
	defer m.Close()
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(out cellio.Output) error
		kind  cellio.Kind
		value string
	}{
		{"px without ranks", func(out cellio.Output) error {
			_, err := m.Px(ctx, 1, nil, "x := 1", out)
			return err
		}, cellio.UsageError, "no ranks run"},
		{"sbatch", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2", "--sbatch"}, out)
		}, cellio.UsageError, "%ranks start --sbatch is not supported yet"},
		{"timeout", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2", "--timeout", "5"}, out)
		}, cellio.UsageError, "%ranks start takes the launch flags"},
		{"unknown", func(out cellio.Output) error { return m.Ranks(ctx, []string{"go"}, out) }, cellio.UsageError, "%ranks: unknown command"},
		{"restart before start", func(out cellio.Output) error { return m.Ranks(ctx, []string{"restart"}, out) }, cellio.UsageError, "no ranks were started"},
		{"no builder", func(out cellio.Output) error {
			return m.Ranks(ctx, []string{"start", "-n", "2"}, out)
		}, cellio.MagicError, "%ranks: this mpigo cannot build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath("mpirun"); err != nil && tt.kind == cellio.MagicError {
				t.Skip("no mpirun: the launcher is not found first")
			}
			err := tt.run(celliotest.New())
			var ce *cellio.Error
			if !errors.As(err, &ce) || ce.Name != tt.kind || !strings.HasPrefix(ce.Value, tt.value) {
				t.Errorf("error %v, want %s %q", err, tt.kind, tt.value)
			}
		})
	}
	rec := celliotest.New()
	if err := m.Ranks(ctx, nil, rec); err != nil || !strings.Contains(rec.Text("stdout"), "no ranks run") {
		t.Errorf("%%ranks: %v %q", err, rec.Text("stdout"))
	}
}
