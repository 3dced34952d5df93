//go:build race

package goeval

// raceEnabled: yaegi's ExecuteWithContext writes its results from a
// goroutine that outlives an interrupted call, which the race detector
// reports; tests of interrupts are skipped under it.
const raceEnabled = true
