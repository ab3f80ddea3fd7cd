// Command logextension is the logextension example as an executable for a
// layer's extensions/ folder.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/lambdaotel/lambdaotel/examples/logextension"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	if err := logextension.Run(context.Background(), log); err != nil {
		log.Error("extension failed", "err", err)
		os.Exit(1)
	}
}
