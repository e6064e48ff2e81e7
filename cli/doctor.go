package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check every configured provider: reachable, usable, which version",
		Long: `Doctor opens each configured provider (registry, offline store, online store),
runs a read through it and prints its version, or says exactly what failed.
Secrets are never printed. Exit status is 1 when any check fails. Through a
server (--server, or the server holding --data-dir) it checks the server's
providers.

--json prints {"config", "data_dir", "checks"}, each check with role
(registry, offline, online), provider, ok, and version or error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := a.connect(cmd.Context(), how{create: true, lazy: true})
			if err != nil {
				return err
			}
			defer api.Close()
			report, err := api.Doctor(cmd.Context())
			if err != nil {
				return err
			}
			failed := report.Failed()
			if asJSON {
				if err := printJSON(a, report); err != nil {
					return err
				}
				if failed > 0 {
					return fmt.Errorf("%d provider(s) failed their checks; see their errors in the JSON", failed)
				}
				return nil
			}
			fmt.Fprintf(a.stdout, "configuration: %s\ndata directory: %s\n", report.Config, report.DataDir)
			for _, c := range report.Checks {
				if c.OK {
					fmt.Fprintf(a.stdout, "  ok    %-8s %s  %s\n", c.Role, c.Provider, c.Version)
				} else {
					fmt.Fprintf(a.stdout, "  FAIL  %-8s %s\n        %s\n", c.Role, c.Provider, c.Error)
				}
			}
			if failed > 0 {
				return errors.New("some providers failed their checks; see above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
