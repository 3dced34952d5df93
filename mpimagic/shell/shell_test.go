package shell

import "testing"

func TestJoin(t *testing.T) {
	got := Join([]string{"go", "build", "-ldflags=-s -w", "it's", "", "a=b,c:d/e"})
	if want := `go build '-ldflags=-s -w' 'it'\''s' '' a=b,c:d/e`; got != want {
		t.Errorf("Join = %s, want %s", got, want)
	}
}
