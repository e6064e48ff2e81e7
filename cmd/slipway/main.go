// Command slipway is the Slipway CLI and server. It only wires the command
// tree to the backends (internal/backends).
package main

import (
	"os"

	"github.com/slipway-ml/slipway/cli"
	"github.com/slipway-ml/slipway/internal/backends"
)

func main() {
	os.Exit(cli.Main(backends.All(), os.Args[1:], os.Stdout, os.Stderr))
}
