// Package lambdasim is a local AWS Lambda: it serves the Runtime, Extensions
// and Telemetry APIs, runs a function's bootstrap and its external extensions
// as real processes, and drives them through Lambda's lifecycle with Lambda's
// timing: init, invocations, freeze (SIGSTOP) and thaw (SIGCONT) between
// them, timeouts that reset the environment, and a shutdown that sends
// SIGTERM and SHUTDOWN and kills at the deadline.
//
// It exists so that whatever decides whether telemetry is lost or late
// (what happens at freeze, at a timeout, at shutdown) can be seen on a
// laptop and asserted in a test. A Sim is created with New, started with
// Start, driven with Invoke and ended with Shutdown; Telemetry and WaitFor
// expose every telemetry event it produced.
package lambdasim
