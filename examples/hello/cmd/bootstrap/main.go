// Command bootstrap is the hello function as a Lambda bootstrap.
package main

import "github.com/lambdaotel/lambdaotel/examples/hello"

func main() { hello.Main() }
