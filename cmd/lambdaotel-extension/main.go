// Command lambdaotel-extension is the Lambda extension: put it in a layer's
// extensions/ folder. Everything it does is in package extension.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lambdaotel/lambdaotel/extension"
)

func main() {
	if err := extension.Run(context.Background(), extension.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "lambdaotel-extension:", err)
		os.Exit(1)
	}
}
