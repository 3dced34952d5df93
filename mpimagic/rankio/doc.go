// Package rankio is the rank side of the output channel of mpigo's %mpirun
// magic and `mpigo run`: the wrapper the MPI launcher starts on every rank
// (Main), which runs the rank's program and forwards its output and exit
// status to the magic over TCP, and the pieces both sides share (the frame
// format, LineBuffer). Started with ValueFlag (%mpirun --out), it also
// gives the program a pipe for the value of the cell's final expression
// (package rankout writes it) and sends it on as FrameValue frames. It depends on the standard library only, so that the
// wrapper is a small binary that starts fast on every rank.
package rankio
