package lambdasim

import (
	"io"
	"log/slog"
	"time"
)

// Process describes a program the environment runs: the runtime's bootstrap
// or an external extension.
type Process struct {
	// Path is the executable. For an extension, an empty Path declares an
	// attached extension: one that counts as external under Name but that the
	// caller runs itself (tests drive the APIs over HTTP this way).
	Path string
	// Args are passed to the program.
	Args []string
	// Name is an extension's external name; it defaults to Path's file name,
	// which is what Lambda matches registrations against.
	Name string
}

// Config is the function and environment lambdasim emulates. The zero value
// of every field means Lambda's default.
type Config struct {
	// Runtime is the function's bootstrap. Nil means an attached runtime: the
	// caller connects to Addr itself.
	Runtime *Process
	// Extensions are the external extensions, started in parallel before the
	// runtime, as Lambda starts the files of /opt/extensions.
	Extensions []Process
	// Env is the function's configured environment variables.
	Env map[string]string

	FunctionName    string        // default "function"
	FunctionVersion string        // default "$LATEST"
	Handler         string        // _HANDLER; default "bootstrap"
	Region          string        // default "us-east-1"
	AccountID       string        // default "123456789012"
	MemoryMB        int           // default 128
	Timeout         time.Duration // function timeout; default 3s
	InitTimeout     time.Duration // on-demand init limit; default 10s

	// NoFreeze keeps processes running between invocations.
	NoFreeze bool
	// MaxConcurrency > 0 emulates Lambda Managed Instances: that many
	// concurrent invocations, no freeze, SHUTDOWN-only extensions and the
	// 2025-01-29 telemetry schema.
	MaxConcurrency int

	// Addr is where the Lambda APIs listen; default 127.0.0.1:0.
	Addr string

	// Output receives the processes' output, each line prefixed with its
	// source. Nil discards it.
	Output io.Writer
	// Logger receives lambdasim's own diagnostics. Nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.FunctionName == "" {
		c.FunctionName = "function"
	}
	if c.FunctionVersion == "" {
		c.FunctionVersion = "$LATEST"
	}
	if c.Handler == "" {
		c.Handler = "bootstrap"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.AccountID == "" {
		c.AccountID = "123456789012"
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = 128
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Second
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = 10 * time.Second
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Output == nil {
		c.Output = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Shutdown budgets, as Lambda grants them.
const (
	shutdownExternal     = 2000 * time.Millisecond
	shutdownInternalOnly = 500 * time.Millisecond
	runtimeShare         = 300 * time.Millisecond
	runtimeShareInternal = 500 * time.Millisecond
	maxExtensions        = 10
)
