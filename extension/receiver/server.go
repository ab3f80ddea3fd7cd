package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ErrNotLoopback is returned by Listen and Start for an address that is not
// on the loopback interface: the extension's receivers accept telemetry
// from the function in the same sandbox only.
var ErrNotLoopback = errors.New("receiver: address is not loopback")

// Server limits. ReadHeaderTimeout bounds a client that opens a connection
// and stalls. There is deliberately no ReadTimeout, WriteTimeout or
// IdleTimeout: Lambda freezes the function and the extension between
// invocations, wall-clock timers keep running across the freeze, and a
// server that closed a kept-alive connection while frozen would make the
// function's next POST fail (Go's client does not retry a POST on a reused
// connection). The peer is a local process whose death closes its
// sockets, and bodies are bounded by MaxRequestBytes.
const (
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Listen binds a TCP listener on addr, which must name a loopback host:
// an IP literal such as 127.0.0.1 or ::1, or "localhost" (bound as
// 127.0.0.1). An empty host, which would bind every interface, is refused.
// Port 0 picks a free port.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("receiver: listen %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1" // avoid a resolver answer we did not choose
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	ln, err := loopbackListenConfig().Listen(context.Background(), "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	return ln, nil
}

// loopbackListenConfig is how a loopback listener is made: plain TCP.
// net.Listen asks the kernel for Multipath TCP where it has it (Go 1.24+),
// which nothing on loopback can use and which made binding the receivers
// about a tenth of the extension's CPU from exec to register.
func loopbackListenConfig() *net.ListenConfig {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return &lc
}

// Server serves a Receiver on one listener until Shutdown.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	err  error // set before done is closed
}

// Start serves rc on ln, which must be a TCP listener on a loopback address
// (use Listen), from one goroutine; net/http adds one per connection. It
// returns once the server is accepting, so the extension can register
// knowing its port answers.
func (rc *Receiver) Start(ln net.Listener) (*Server, error) {
	return Serve(ln, rc, rc.log, false)
}

// Serve serves h on ln, a TCP listener on a loopback address, with the
// receivers' limits; both the OTLP/HTTP and the OTLP/gRPC receiver use it.
// h2c adds unencrypted HTTP/2 with prior knowledge, as gRPC clients speak
// it on an insecure channel (HTTP/1 stays, so an HTTP/1.1 client gets a
// clear refusal rather than a dropped connection).
func Serve(ln net.Listener, h http.Handler, log *slog.Logger, h2c bool) (*Server, error) {
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		return nil, fmt.Errorf("%w: %v", ErrNotLoopback, ln.Addr())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
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

// Done is closed when the server has stopped serving, after Shutdown or
// because the listener failed; Err then says why.
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

// Shutdown stops accepting, closes idle connections and waits for requests
// in flight to finish (so that everything answered 200 has reached the
// Sink), up to ctx's deadline; then it closes the remaining connections.
// It returns ctx's error if it had to force them closed.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	return err
}
