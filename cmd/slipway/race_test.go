//go:build race

package main

// Under the race detector (go test -race, as scripts/test.sh runs this
// package) the binary the end-to-end tests drive is built with -race too,
// so the CLI, server and workers they start are checked for races.
func init() { raceBuild = true }
