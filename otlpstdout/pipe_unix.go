//go:build unix

package otlpstdout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// openPipe opens the named pipe for writing without blocking. A blocking
// open would wait, possibly forever, for a reader; O_NONBLOCK makes a
// missing reader an immediate ENXIO instead. O_APPEND keeps a regular file
// at the path (a misconfiguration, but harmless) from being overwritten.
func openPipe(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENXIO):
			return nil, fmt.Errorf("named pipe %s has no reader: %w", path, err)
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("named pipe %s does not exist: %w", path, err)
		}
		return nil, err
	}
	return f, nil
}

// touchPipe opens and closes the pipe, which a reader sees as an empty
// flush: EOF with no data.
func touchPipe(path string) error {
	f, err := openPipe(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// writePipe writes line to the pipe in one open-write-close cycle, so the
// reader sees EOF after each record. The descriptor stays non-blocking and
// the runtime poller waits when the pipe buffer is full; ctx bounds that wait
// through a write deadline.
func writePipe(ctx context.Context, path string, line []byte) (err error) {
	f, err := openPipe(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl) // a regular file cannot take one; it never blocks anyway
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err = f.Write(line); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The only deadlines here come from ctx. The poller's timer can
			// fire a moment before ctx records its own expiry.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return fmt.Errorf("writing to named pipe %s: reader too slow: %w", path, cause)
		}
		return fmt.Errorf("writing to named pipe %s: %w", path, err)
	}
	return nil
}
