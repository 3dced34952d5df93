// Package report is what a user sees of a run of %mpirun or `mpigo run`
// besides the ranks' own output: the progress line a cell updates in place
// while it builds and runs (Progress), the summary at its end, identical
// outputs of ranks folded into one group and long ones collapsed (Summary,
// Fold), and the verdict (Judge), the cell's error when a rank failed, the
// launcher did, or the run was stopped. Every kind of cell error has one
// constructor here (errors.go); the kind is the ename the notebook shows.
package report
