package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// kernelSpec is kernel.json; the field order is the one Jupyter writes.
type kernelSpec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Metadata      map[string]any    `json:"metadata"`
	Env           map[string]string `json:"env"`
}

// installOptions are the flags of `mpigo install`.
type installOptions struct {
	user, sysPrefix bool
	prefix          string
	name            string
	displayName     string
}

// validKernelName is jupyter_client's rule for kernel spec names.
var validKernelName = regexp.MustCompile(`(?i)^[a-z0-9._-]+$`)

// cmdInstall implements `mpigo install` and returns the exit status.
func cmdInstall(args []string, stdout, stderr io.Writer) int {
	var o installOptions
	fs := flag.NewFlagSet("mpigo install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.user, "user", false, "install for the current user (the default unless running as root)")
	fs.BoolVar(&o.sysPrefix, "sys-prefix", false, "install into the active Python environment ($VIRTUAL_ENV or $CONDA_PREFIX), else /usr/local")
	fs.StringVar(&o.prefix, "prefix", "", "install into `DIR`/share/jupyter/kernels")
	fs.StringVar(&o.name, "name", "mpigo", "kernel spec `NAME`")
	fs.StringVar(&o.displayName, "display-name", "Go (mpigo)", "`NAME` shown by Jupyter")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: mpigo install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name NAME]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mpigo install: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	n := 0
	for _, set := range []bool{o.user, o.sysPrefix, o.prefix != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		fmt.Fprint(stderr, "mpigo install: --user, --sys-prefix and --prefix exclude each other\n")
		return 2
	}
	if !validKernelName.MatchString(o.name) {
		fmt.Fprintf(stderr, "mpigo install: invalid kernel name %q (letters, digits, '.', '_' and '-' only)\n", o.name)
		return 2
	}
	dir, err := installSpec(o)
	if err != nil {
		fmt.Fprintf(stderr, "mpigo install: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Installed kernel spec %q (%s) in %s\n", o.name, o.displayName, dir)
	return 0
}

// installSpec writes the kernel spec directory and returns its path.
func installSpec(o installOptions) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the mpigo binary: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("resolving the mpigo binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", err
	}
	home, _ := os.UserHomeDir()
	kernels, err := kernelsDir(o, os.Getenv, runtime.GOOS, os.Geteuid(), home)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(kernels, o.name)
	if err := writeSpec(dir, exe, o.displayName); err != nil {
		return "", err
	}
	return dir, nil
}

// kernelsDir is the "kernels" directory the flags select, laid out as
// jupyter_core does: --prefix DIR → DIR/share/jupyter/kernels; --sys-prefix →
// the active environment's (or /usr/local's); --user → the Jupyter data
// directory; no flag → --user, or /usr/local/share/jupyter/kernels for root.
func kernelsDir(o installOptions, getenv func(string) string, goos string, euid int, home string) (string, error) {
	switch {
	case o.prefix != "":
		p, err := filepath.Abs(o.prefix)
		if err != nil {
			return "", err
		}
		return filepath.Join(p, "share", "jupyter", "kernels"), nil
	case o.sysPrefix:
		prefix := "/usr/local" // Debian's jupyter searches /usr/local/share/jupyter
		for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
			if p := getenv(v); p != "" {
				prefix = p
				break
			}
		}
		return filepath.Join(prefix, "share", "jupyter", "kernels"), nil
	case !o.user && euid == 0 && goos != "windows":
		return "/usr/local/share/jupyter/kernels", nil
	}
	// jupyter_core.paths.jupyter_data_dir
	if d := getenv("JUPYTER_DATA_DIR"); d != "" {
		return filepath.Join(d, "kernels"), nil
	}
	if home == "" {
		return "", errors.New("no home directory for a --user install; set JUPYTER_DATA_DIR")
	}
	switch goos {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter", "kernels"), nil
	case "windows":
		if a := getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter", "kernels"), nil
		}
	}
	data := getenv("XDG_DATA_HOME")
	if data == "" {
		data = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(data, "jupyter", "kernels"), nil
}

// writeSpec writes kernel.json and the logos into dir.
func writeSpec(dir, exe, displayName string) error {
	spec := kernelSpec{
		Argv:          []string{exe, "kernel", "{connection_file}"},
		DisplayName:   displayName,
		Language:      "go",
		InterruptMode: "message",
		// the kernel runs cells under yaegi's debugger (issue 17) and says
		// so in kernel_info (kernel.Config.DebuggerReady, set by runKernel);
		// JupyterLab reads this before it starts a kernel, to offer its
		// debugger in the launcher and the notebook toolbar.
		Metadata: map[string]any{"debugger": true},
		Env:      map[string]string{},
	}
	js, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"kernel.json":  append(js, '\n'),
		"logo-svg.svg": []byte(logoSVG()),
	}
	for _, size := range []int{32, 64} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, drawLogo(size)); err != nil {
			return fmt.Errorf("encoding the logo: %w", err)
		}
		files[fmt.Sprintf("logo-%dx%d.png", size, size)] = buf.Bytes()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the kernel spec directory: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// The logo is a Go-cyan rounded square with a white "Go" drawn from bars, in
// coordinates of a unit square (y down).
var (
	goCyan = color.NRGBA{R: 0x00, G: 0xAD, B: 0xD8, A: 0xFF}

	logoRadius = 0.2
	logoBars   = [][4]float64{ // x0, y0, x1, y1
		// G
		{0.12, 0.28, 0.50, 0.37},
		{0.12, 0.28, 0.21, 0.72},
		{0.12, 0.63, 0.50, 0.72},
		{0.41, 0.50, 0.50, 0.72},
		{0.31, 0.50, 0.50, 0.59},
		// o
		{0.58, 0.42, 0.88, 0.51},
		{0.58, 0.63, 0.88, 0.72},
		{0.58, 0.42, 0.67, 0.72},
		{0.79, 0.42, 0.88, 0.72},
	}
)

func inRoundedSquare(x, y, r float64) bool {
	cx := min(max(x, r), 1-r)
	cy := min(max(y, r), 1-r)
	dx, dy := x-cx, y-cy
	return x >= 0 && x <= 1 && y >= 0 && y <= 1 && dx*dx+dy*dy <= r*r
}

func inGlyph(x, y float64) bool {
	for _, b := range logoBars {
		if x >= b[0] && x < b[2] && y >= b[1] && y < b[3] {
			return true
		}
	}
	return false
}

// drawLogo renders the logo at size×size pixels, anti-aliased by 4×4
// supersampling.
func drawLogo(size int) *image.NRGBA {
	const ss = 4
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := range size {
		for px := range size {
			var bg, fg float64
			for sy := range ss {
				for sx := range ss {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					if inRoundedSquare(x, y, logoRadius) {
						bg++
						if inGlyph(x, y) {
							fg++
						}
					}
				}
			}
			if bg == 0 {
				continue
			}
			// Mix white glyph and cyan background over the covered part.
			mix := func(c uint8) uint8 { return uint8((255*fg + float64(c)*(bg-fg)) / bg) }
			img.SetNRGBA(px, py, color.NRGBA{
				R: mix(goCyan.R), G: mix(goCyan.G), B: mix(goCyan.B),
				A: uint8(255 * bg / (ss * ss)),
			})
		}
	}
	return img
}

// logoSVG is the same logo as SVG.
func logoSVG() string {
	const s = 64.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">`+"\n")
	fmt.Fprintf(&b, `  <rect width="64" height="64" rx="%g" fill="#00ADD8"/>`+"\n", logoRadius*s)
	for _, r := range logoBars {
		fmt.Fprintf(&b, `  <rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#FFFFFF"/>`+"\n",
			r[0]*s, r[1]*s, (r[2]-r[0])*s, (r[3]-r[1])*s)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
