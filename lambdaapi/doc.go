// Package lambdaapi holds the wire types and small clients for the AWS Lambda
// Runtime API (2018-06-01), Extensions API (2020-01-01) and Telemetry API
// (2022-07-01).
//
// It is shared by the lambdaotel library, the lambdaotel-extension and the
// lambdasim emulator, so that all three agree on one definition of every
// header, body and record. It imports nothing outside the standard library.
//
// Decoding is lenient where Lambda's own schemas are loose: unknown JSON fields
// are ignored, optional fields may be absent, and a telemetry record may be a
// JSON string or a JSON object.
package lambdaapi
