// Command mklayer packs an extension executable into a Lambda layer zip:
// mklayer -exe dist/lambdaotel-extension-arm64 -out dist/lambdaotel-extension-arm64.zip
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lambdaotel/lambdaotel/internal/layerzip"
)

func main() {
	exe := flag.String("exe", "", "the extension executable")
	out := flag.String("out", "", "the layer zip to write")
	name := flag.String("name", "lambdaotel-extension", "the extension's file name in the layer")
	flag.Parse()
	if *exe == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: mklayer -exe FILE -out FILE.zip [-name NAME]")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err == nil {
		err = layerzip.Write(f, *exe, *name)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mklayer:", err)
		os.Exit(1)
	}
}
