module github.com/mpigo/mpigo

go 1.24.0

require (
	github.com/go-zeromq/zmq4 v0.17.0
	github.com/google/uuid v1.6.0
	github.com/traefik/yaegi v0.16.1
	golang.org/x/mod v0.33.0
	golang.org/x/tools v0.42.0
)

require (
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/text v0.15.0 // indirect
)

// zmq4 v0.17.0 with hardening patches (see third_party/zmq4/PATCHES.md).
replace github.com/go-zeromq/zmq4 => ./third_party/zmq4
