// Package shell quotes words for a POSIX shell: the commands that
// --verbose shows, and the job scripts that --export and --sbatch write.
package shell

import "strings"

// Join quotes each word (Quote) and joins them with spaces: a command line
// that a POSIX shell reads back as the same words.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// Quote quotes s for a POSIX shell when it needs it.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
