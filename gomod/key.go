package gomod

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io/fs"
	"path/filepath"
	"strings"
)

// snapshotKey hashes what a build with sn's requirements depends on. A
// local module is hashed by its files' names, sizes and modification
// times: cheap enough to do before every cell, and any edit changes one.
func snapshotKey(sn Snapshot) string {
	h := sha256.New()
	fmt.Fprintf(h, "mpigo modules v1\n%d\n%s\n%d\n%s\n", len(sn.GoMod), sn.GoMod, len(sn.GoSum), sn.GoSum)
	for _, m := range sn.Locals {
		fmt.Fprintf(h, "local %s %s\n", m.Path, m.Dir)
		hashTree(h, m.Dir)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// hashTree writes the name, size and modification time of every file of a
// module tree that a build reads (Go and C sources, go.mod, go.sum,
// embedded files), skipping version-control and hidden directories and
// nested modules' vendor trees.
func hashTree(h hash.Hash, root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "error %s\n", p)
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %d %d\n", rel, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
}
