package debugproto

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// HashSeed is the seed the kernel announces for Murmur2 (debugInfo's
// hashSeed); ipykernel's, so that nothing about it is new to front ends.
const HashSeed = 0xC70F6907

// Suffix is the temporary files' suffix (debugInfo's tmpFileSuffix).
const Suffix = ".go"

// MaxCell bounds the code of a dumped cell, and what source reads back.
const MaxCell = 4 << 20

// Paths is how JupyterLab and the kernel name a cell's source file:
// Prefix + decimal Murmur2(code, Seed) + Suffix. JupyterLab computes the
// name from the cell's text to set breakpoints before the cell ever runs,
// so the engine must compile the cell under exactly this name. It travels
// to the interpreter's process as JSON.
type Paths struct {
	Prefix string `json:"prefix"` // a private directory, with its trailing separator
	Suffix string `json:"suffix"`
	Seed   uint32 `json:"seed"`
}

// NewPaths creates a private directory (mode 0700, under $TMPDIR) for the
// dumped cells of one kernel: cells may hold secrets, and a shared
// directory would let another user plant a file where a cell is expected.
func NewPaths() (Paths, error) {
	dir, err := os.MkdirTemp("", "mpigo-debug-")
	if err != nil {
		return Paths{}, errIO("creating the debugger's directory", err)
	}
	return Paths{Prefix: dir + string(filepath.Separator), Suffix: Suffix, Seed: HashSeed}, nil
}

// Path returns the source path of a cell whose code is code.
func (p Paths) Path(code string) string {
	return p.Prefix + strconv.FormatUint(uint64(Murmur2([]byte(code), p.Seed)), 10) + p.Suffix
}

// Dump writes code to its source path and returns the path.
func (p Paths) Dump(code string) (string, error) {
	if len(code) > MaxCell {
		return "", errTooLarge("the cell", len(code), MaxCell)
	}
	path := p.Path(code)
	if err := os.WriteFile(path, []byte(code), 0o600); err != nil {
		return "", errIO("dumping the cell", err)
	}
	return path, nil
}

// Read returns the code of the cell dumped at path. Only a path of the
// scheme is read: the request comes from the network, and must not read
// any other file of the machine.
func (p Paths) Read(path string) (string, error) {
	if !p.Owns(path) {
		return "", errUnknownSource(path)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", errUnknownSource(path)
	} else if err != nil {
		return "", errIO("reading the cell", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCell+1))
	if err != nil {
		return "", errIO("reading the cell", err)
	}
	if len(b) > MaxCell {
		return "", errTooLarge("the cell", len(b), MaxCell)
	}
	return string(b), nil
}

// Owns reports whether path is of the scheme: the prefix, then digits, then
// the suffix, nothing else (no separator, no "..").
func (p Paths) Owns(path string) bool {
	if p.Prefix == "" {
		return false
	}
	rest, ok := strings.CutPrefix(path, p.Prefix)
	if !ok {
		return false
	}
	digits, ok := strings.CutSuffix(rest, p.Suffix)
	if !ok || digits == "" || len(digits) > 10 {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 32)
	return err == nil && strings.Trim(digits, "0123456789") == ""
}

// Remove deletes the directory and the cells dumped in it.
func (p Paths) Remove() error {
	if p.Prefix == "" {
		return nil
	}
	return os.RemoveAll(strings.TrimSuffix(p.Prefix, string(filepath.Separator)))
}
