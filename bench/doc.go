// Package bench is lambdaotel's benchmark harness: benchmarks that measure
// the library, the extension and lambdasim against their peers in the same
// run, on lambdasim, with real processes and real freeze.
//
// It is its own module (github.com/lambdaotel/lambdaotel/bench) so that the
// peers it builds, such as the OpenTelemetry Go SDK's OTLP/HTTP exporter,
// never become dependencies of lambdaotel itself. Nothing in the main module
// imports it. The benchmark functions live in cmd/ and share one handler,
// internal/fn; the benchmarks and the tests that keep them honest are this
// package's tests. README.md has how to run them and the published figures.
package bench
