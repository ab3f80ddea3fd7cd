package grpcrecv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lambdaotel/lambdaotel/extension/receiver"
)

// Listen binds a TCP listener on addr, which must be a loopback address; it
// is receiver.Listen, so both receivers follow one rule.
func Listen(addr string) (net.Listener, error) { return receiver.Listen(addr) }

// Server limits, with the same reasoning as package receiver's: no read,
// write or idle timeout, because wall-clock timers run while Lambda freezes
// the sandbox and a connection closed during the freeze would fail the
// function's next call.
const (
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Server serves a Receiver on one listener until Shutdown.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	err  error // set before done is closed
}

// Start serves rc on ln, which must be a TCP listener on a loopback address
// (use Listen), from one goroutine; net/http adds one per connection. The
// server speaks unencrypted HTTP/2 with prior knowledge, as gRPC clients do
// on an insecure channel; HTTP/1 stays enabled only so that an HTTP/1.1
// client gets a clear 505 rather than a dropped connection.
func (rc *Receiver) Start(ln net.Listener) (*Server, error) {
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		return nil, fmt.Errorf("%w: %v", receiver.ErrNotLoopback, ln.Addr())
	}
	srv := &http.Server{
		Handler:           rc,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(rc.log.Handler(), slog.LevelDebug),
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	s := &Server{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err = err
		close(s.done)
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Done is closed when the server has stopped serving; Err then says why.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns the error that stopped the server, or nil after a clean
// Shutdown. It is only meaningful once Done is closed.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Shutdown stops accepting and waits for calls in flight to finish (so
// everything answered OK has reached the Sink), up to ctx's deadline; then it
// closes the remaining connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	return err
}
