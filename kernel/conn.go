package kernel

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
)

// ConnectionInfo is the content of the connection file Jupyter hands the kernel.
type ConnectionInfo struct {
	Transport       string `json:"transport"`
	IP              string `json:"ip"`
	ShellPort       int    `json:"shell_port"`
	ControlPort     int    `json:"control_port"`
	StdinPort       int    `json:"stdin_port"`
	IOPubPort       int    `json:"iopub_port"`
	HBPort          int    `json:"hb_port"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnectionFile reads and validates a Jupyter connection file. Missing
// transport, ip and signature_scheme take jupyter_client's defaults (tcp,
// 127.0.0.1, hmac-sha256); only hmac-sha256 signatures are supported.
func ReadConnectionFile(path string) (ConnectionInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ConnectionInfo{}, fmt.Errorf("reading connection file: %w", err)
	}
	return parseConnectionInfo(data)
}

func parseConnectionInfo(data []byte) (ConnectionInfo, error) {
	var ci ConnectionInfo
	if err := json.Unmarshal(data, &ci); err != nil {
		return ci, fmt.Errorf("parsing connection file: %w", err)
	}
	if ci.Transport == "" {
		ci.Transport = "tcp"
	}
	if ci.IP == "" {
		ci.IP = "127.0.0.1"
	}
	if ci.SignatureScheme == "" {
		ci.SignatureScheme = "hmac-sha256"
	}
	if ci.SignatureScheme != "hmac-sha256" {
		return ci, fmt.Errorf("connection file: unsupported signature_scheme %q (only hmac-sha256)", ci.SignatureScheme)
	}
	if ci.Transport != "tcp" && ci.Transport != "ipc" {
		return ci, fmt.Errorf("connection file: unsupported transport %q (tcp or ipc)", ci.Transport)
	}
	for name, p := range map[string]int{
		"shell_port": ci.ShellPort, "control_port": ci.ControlPort, "stdin_port": ci.StdinPort,
		"iopub_port": ci.IOPubPort, "hb_port": ci.HBPort,
	} {
		if p <= 0 || p > 65535 {
			return ci, fmt.Errorf("connection file: %s %d out of range", name, p)
		}
	}
	return ci, nil
}

// endpoint returns the ZeroMQ address of port, as jupyter_client writes it:
// tcp://IP:PORT, or ipc://IP-PORT where IP is a path prefix.
func (ci ConnectionInfo) endpoint(port int) string {
	if ci.Transport == "ipc" {
		return "ipc://" + ci.IP + "-" + strconv.Itoa(port)
	}
	return "tcp://" + net.JoinHostPort(ci.IP, strconv.Itoa(port))
}
