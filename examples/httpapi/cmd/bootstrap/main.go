// Command bootstrap is the httpapi example as a Lambda bootstrap.
package main

import "github.com/lambdaotel/lambdaotel/examples/httpapi"

func main() { httpapi.Main() }
