package grpcrecv

import (
	"net"

	"github.com/lambdaotel/lambdaotel/extension/receiver"
)

// Listen binds a TCP listener on addr, which must be a loopback address; it
// is receiver.Listen, so both receivers follow one rule.
func Listen(addr string) (net.Listener, error) { return receiver.Listen(addr) }

// Server is the receivers' shared server.
type Server = receiver.Server

// Start serves rc on ln, which must be a TCP listener on a loopback address
// (use Listen), with unencrypted HTTP/2 as gRPC clients speak it on an
// insecure channel; an HTTP/1.1 client gets a clear 505.
func (rc *Receiver) Start(ln net.Listener) (*Server, error) {
	return receiver.Serve(ln, rc, rc.log, true)
}
