package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// versioner is implemented by stores that can name their server's version.
type versioner interface {
	Version(ctx context.Context) (string, error)
}

// doctorJSON is what 'slipway doctor --json' prints.
type doctorJSON struct {
	Config  string            `json:"config"`
	DataDir string            `json:"data_dir"`
	Checks  []doctorCheckJSON `json:"checks"`
}

// doctorCheckJSON is the check of one provider.
type doctorCheckJSON struct {
	Role     string `json:"role"`
	Provider string `json:"provider"`
	OK       bool   `json:"ok"`
	Version  string `json:"version,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (a *app) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check every configured provider: reachable, usable, which version",
		Long: `Doctor opens each configured provider (registry, offline store, online store),
runs a read through it and prints its version, or says exactly what failed.
Secrets are never printed. Exit status is 1 when any check fails.

--json prints {"config", "data_dir", "checks"}, each check with role
(registry, offline, online), provider, ok, and version or error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			src := cfg.File
			if src == "" {
				src = "defaults (no " + config.FileName + ")"
			}
			report := doctorJSON{Config: src, DataDir: a.dataDir, Checks: []doctorCheckJSON{}}
			if !asJSON {
				fmt.Fprintf(a.stdout, "configuration: %s\ndata directory: %s\n", src, a.dataDir)
			}
			ctx := cmd.Context()
			failed := 0
			check := func(role string, p config.Provider, run func(ctx context.Context) (any, error)) {
				ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				defer cancel()
				store, err := run(ctx)
				version := ""
				if v, ok := store.(versioner); ok && err == nil {
					version, err = v.Version(ctx)
				}
				if c, ok := store.(interface{ Close() error }); ok && store != nil {
					c.Close()
				}
				c := doctorCheckJSON{Role: role, Provider: p.Redacted(), OK: err == nil, Version: version}
				if err != nil {
					failed++
					c.Version, c.Error = "", err.Error()
				}
				report.Checks = append(report.Checks, c)
				switch {
				case asJSON:
				case err != nil:
					fmt.Fprintf(a.stdout, "  FAIL  %-8s %s\n        %v\n", role, c.Provider, err)
				default:
					fmt.Fprintf(a.stdout, "  ok    %-8s %s  %s\n", role, c.Provider, version)
				}
			}
			check("registry", cfg.Registry, func(ctx context.Context) (any, error) {
				f, err := constructor("registry", a.backends.Registry, cfg.Registry)
				if err != nil {
					return nil, err
				}
				s, err := f(ctx, a.storeParams(cfg.Registry))
				if err != nil {
					return nil, err
				}
				_, err = s.List(ctx, &registry.ListParams{Kind: resource.KindEntity})
				return s, err
			})
			check("offline", cfg.Offline, func(ctx context.Context) (any, error) {
				f, err := constructor("offline", a.backends.Offline, cfg.Offline)
				if err != nil {
					return nil, err
				}
				s, err := f(ctx, a.storeParams(cfg.Offline))
				if err != nil {
					return nil, err
				}
				_, err = s.Describe(ctx, &offline.DescribeParams{SQL: "SELECT 1 AS probe"})
				return s, err
			})
			check("online", cfg.Online, func(ctx context.Context) (any, error) {
				f, err := constructor("online", a.backends.Online, cfg.Online)
				if err != nil {
					return nil, err
				}
				s, err := f(ctx, a.storeParams(cfg.Online))
				if err != nil {
					return nil, err
				}
				_, err = s.Read(ctx, &online.ReadParams{Features: []string{"slipway_doctor:probe"}, Entities: []string{"probe"}})
				return s, err
			})
			if asJSON {
				if err := printJSON(a, report); err != nil {
					return err
				}
			}
			if failed > 0 && asJSON {
				return fmt.Errorf("%d provider(s) failed their checks; see their errors in the JSON", failed)
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
