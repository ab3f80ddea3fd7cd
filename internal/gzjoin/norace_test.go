//go:build !race

package gzjoin

const raceEnabled = false
