package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestInstallPrefix(t *testing.T) {
	prefix := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"install", "--prefix", prefix}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	dir := filepath.Join(prefix, "share", "jupyter", "kernels", "mpigo")
	if !strings.Contains(stdout.String(), dir) {
		t.Errorf("output %q does not say where it installed", stdout.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	argv, _ := spec["argv"].([]any)
	if len(argv) != 3 || argv[0] != exe || !filepath.IsAbs(argv[0].(string)) || argv[1] != "kernel" || argv[2] != "{connection_file}" {
		t.Errorf("argv = %v, want [%s kernel {connection_file}]", argv, exe)
	}
	meta, _ := spec["metadata"].(map[string]any)
	env, _ := spec["env"].(map[string]any)
	if spec["display_name"] != "Go (mpigo)" || spec["language"] != "go" || spec["interrupt_mode"] != "message" ||
		meta["debugger"] != true || env == nil || len(env) != 0 {
		t.Errorf("kernel.json = %s", data)
	}
	for _, size := range []int{32, 64} {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("logo %d: %v", size, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("logo %d is %v", size, b)
		}
		// Opaque cyan in the middle of the left edge, transparent corner, white glyph.
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("logo %d: corner not transparent", size)
		}
		if r, g, b, a := img.At(size/40+1, size/2).RGBA(); a != 0xffff || r != 0 || g>>8 != 0xAD || b>>8 != 0xD8 {
			t.Errorf("logo %d: edge color %x %x %x %x", size, r, g, b, a)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "logo-svg.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("logo-svg.svg: %v", err)
	}

	// Installing again replaces the spec; a custom name and display name work.
	stdout.Reset()
	if code := run([]string{"install", "--prefix", prefix, "--name", "go-test", "--display-name", "Go test"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err = os.ReadFile(filepath.Join(prefix, "share", "jupyter", "kernels", "go-test", "kernel.json"))
	if err != nil || !bytes.Contains(data, []byte(`"display_name": "Go test"`)) {
		t.Errorf("custom spec: %s %v", data, err)
	}
}

func TestInstallBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"install", "--user", "--prefix", "/tmp/x"},
		{"install", "--sys-prefix", "--user"},
		{"install", "--name", "bad name"},
		{"install", "extra"},
		{"install", "--no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestKernelsDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name   string
		o      installOptions
		getenv func(string) string
		goos   string
		euid   int
		want   string
	}{
		{"prefix", installOptions{prefix: "/opt/py"}, env(), "linux", 1000, "/opt/py/share/jupyter/kernels"},
		{"user linux", installOptions{user: true}, env(), "linux", 1000, "/home/u/.local/share/jupyter/kernels"},
		{"user xdg", installOptions{user: true}, env("XDG_DATA_HOME", "/x"), "linux", 1000, "/x/jupyter/kernels"},
		{"user JUPYTER_DATA_DIR", installOptions{user: true}, env("JUPYTER_DATA_DIR", "/j"), "linux", 1000, "/j/kernels"},
		{"user macOS", installOptions{user: true}, env(), "darwin", 501, "/home/u/Library/Jupyter/kernels"},
		{"default non-root is user", installOptions{}, env(), "linux", 1000, "/home/u/.local/share/jupyter/kernels"},
		{"default root is system", installOptions{}, env(), "linux", 0, "/usr/local/share/jupyter/kernels"},
		{"root asking for user", installOptions{user: true}, env(), "linux", 0, "/home/u/.local/share/jupyter/kernels"},
		{"sys-prefix", installOptions{sysPrefix: true}, env(), "linux", 1000, "/usr/local/share/jupyter/kernels"},
		{"sys-prefix venv", installOptions{sysPrefix: true}, env("VIRTUAL_ENV", "/v"), "linux", 1000, "/v/share/jupyter/kernels"},
		{"sys-prefix conda", installOptions{sysPrefix: true}, env("CONDA_PREFIX", "/c"), "linux", 1000, "/c/share/jupyter/kernels"},
	}
	for _, tt := range tests {
		got, err := kernelsDir(tt.o, tt.getenv, tt.goos, tt.euid, "/home/u")
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("version: exit %d", code)
	}
	if !regexp.MustCompile(`^mpigo \S+ \(go1\.\S+, yaegi v\S+\)\n$`).MatchString(stdout.String()) {
		t.Errorf("version = %q", stdout.String())
	}
	for _, args := range [][]string{nil, {"help"}} {
		stdout.Reset()
		if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "mpigo install") {
			t.Errorf("%q: exit %d, %q", args, code, stdout.String())
		}
		if strings.Contains(stdout.String(), "worker") {
			t.Errorf("usage mentions the hidden worker command")
		}
	}
	stderr.Reset()
	if code := run([]string{"frobnicate"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "Usage") {
		t.Errorf("unknown command: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"kernel"}, &stdout, &stderr); code != 2 {
		t.Errorf("kernel without a file: exit %d", code)
	}
}
