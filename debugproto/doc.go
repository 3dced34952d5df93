// Package debugproto is the kernel side of the Jupyter Debug Protocol: the
// Debug Adapter Protocol (DAP) messages JupyterLab's debugger sends as
// debug_request on the control channel and receives as debug_reply and
// debug_event, the state of one debug session (started, breakpoints by
// source path, exception filters, stopped threads, the variable references
// handed out), the MurmurHash2 and temporary file scheme by which
// JupyterLab and the kernel agree on a cell's source path, and the cells
// dumped there.
//
// It knows nothing of Go cells or of the interpreter: package kernel routes
// the requests that need a stopped interpreter to the engine, and answers
// the others with this package.
package debugproto
