//go:build !unix

package otlpstdout

import (
	"context"
	"errors"
)

// Named pipes with the non-blocking open this package relies on exist only
// on Unix; Lambda runs Linux.
var errNoPipes = errors.New("named pipe output is only supported on Unix")

func touchPipe(string) error { return errNoPipes }

func writePipe(context.Context, string, []byte) error { return errNoPipes }
