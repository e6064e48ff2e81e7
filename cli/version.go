package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what 'slipway version --json' prints.
type versionInfo struct {
	// Version is the module version; "(devel)" for a build from a checkout.
	Version string `json:"version"`
	// Commit is the VCS revision built from; Modified says the tree had
	// uncommitted changes. Empty and false when the build recorded no VCS.
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	// DuckDB is the version of the DuckDB library linked in; empty when the
	// build leaves DuckDB out.
	DuckDB string `json:"duckdb,omitempty"`
}

func (a *app) version() versionInfo {
	v := versionInfo{Version: "(unknown)", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if a.backends.DuckDBVersion != nil {
		v.DuckDB = a.backends.DuckDBVersion()
	}
	return v
}

func (a *app) printVersion(asJSON bool) error {
	v := a.version()
	if asJSON {
		return printJSON(a, v)
	}
	fmt.Fprintf(a.stdout, "slipway %s\n", v.Version)
	if v.Commit != "" {
		mod := ""
		if v.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(a.stdout, "commit  %s%s\n", v.Commit, mod)
	}
	fmt.Fprintf(a.stdout, "go      %s\n", v.Go)
	if v.DuckDB != "" {
		fmt.Fprintf(a.stdout, "duckdb  %s\n", v.DuckDB)
	}
	return nil
}

func (a *app) versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version: module, commit, Go and DuckDB",
		Long: `Version prints the slipway module version ("(devel)" for a build from a
checkout), the commit it was built from and whether that tree had
uncommitted changes, the Go version and the DuckDB library version.
It opens no data directory. 'slipway --version' prints the same.

--json prints {"version", "commit", "modified", "go", "duckdb"}; commit
and duckdb are left out when the build has none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.printVersion(asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
