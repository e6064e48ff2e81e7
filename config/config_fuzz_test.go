package config

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse parses any configuration file, with every ${VAR} set to any
// value. Parse must never panic; each problem it reports starts a line with
// the file's name (indented lines continue the problem above); a file it
// accepts is complete: every role has a type, and its prediction_log: and
// cors: settings are within their bounds.
// It starts from the test inputs.
func FuzzParse(f *testing.F) {
	for _, tc := range badConfigs {
		f.Add(tc.yaml, "")
	}
	for _, s := range []string{
		"registry:\n  type: postgres\n  dsn: postgres://slipway:${PGPASS}@db:5432/slipway\noffline:\n  type: postgres\n  dsn: postgres://slipway:${PGPASS}@db:5432/warehouse\n  schema: features\nonline:\n  type: redis\n  addrs: [10.0.0.1:6379, 10.0.0.2:6379]\n  cluster: true\n  password: ${REDIS_PASSWORD}\n",
		"online:\n  type: redis\n  addrs: [127.0.0.1:6379]\n",
		"jobs:\n  concurrency: ${N}\n  max_attempts: 3\n  lease: 45s\n",
		"prediction_log:\n  enabled: false\n  dir: ${N}/plog\n  max_size: ${N}GiB\n  ship_interval: ${N}s\n",
		"prediction_log:\n  max_size: 1.5 MiB\n  ship_interval: 10ms\n  dir: a\n  dir: b\n",
		"cors:\n  allowed_origins: [\"https://shop.example.com\", \"http://localhost:${N}\", \"${N}\"]\n  max_age: ${N}m\n",
		"cors:\n  allowed_origins:\n    - \"*\"\n    - https://A.example:443/x\n",
		"online:\n  type: redis\n  addrs: [a:1]\n  db: ${DB}\n  cluster: ${CL}\n  password: ${PW}\n",
		"\n\n\nonline:\n  type: redis\n  addrs: [a:1]\n  db: abc\n",
		"",
		"- a\n",
		"registry: ~\n",
		"online: &o {type: embedded}\noffline: *o\n",
	} {
		f.Add(s, "2")
	}
	f.Fuzz(func(t *testing.T, content, env string) {
		lookup := func(string) (string, bool) { return env, env != "" }
		cfg, err := Parse("s.yaml", []byte(content), lookup, testTypes)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "s.yaml:") && !strings.HasPrefix(line, "  ") {
					t.Errorf("error line %q does not start with the file's name", line)
				}
			}
			return
		}
		if cfg.File != "s.yaml" || cfg.Registry.Type == "" || cfg.Offline.Type == "" || cfg.Online.Type == "" {
			t.Errorf("accepted configuration is incomplete: %+v", cfg)
		}
		if pl := cfg.PredictionLog; pl.MaxBytes != 0 && pl.MaxBytes < minPredictionLogBytes ||
			pl.ShipInterval != 0 && (pl.ShipInterval < minShipInterval || pl.ShipInterval > maxShipInterval) {
			t.Errorf("accepted prediction_log out of bounds: %+v", pl)
		}
		if c := cfg.CORS; c.MaxAge != 0 && (c.MaxAge < minCORSMaxAge || c.MaxAge > maxCORSMaxAge) ||
			slices.Contains(c.AllowedOrigins, AnyOrigin) && len(c.AllowedOrigins) > 1 {
			t.Errorf("accepted cors out of bounds: %+v", c)
		}
		for _, o := range cfg.CORS.AllowedOrigins {
			if err := checkOrigin(o); err != nil {
				t.Errorf("accepted origin %q: %v", o, err)
			}
		}
		// What Parse accepted decodes into its sections.
		for _, p := range []Provider{cfg.Registry, cfg.Offline, cfg.Online} {
			if err := p.Decode(testTypes[p.Role][p.Type]()); err != nil {
				t.Errorf("accepted %s section does not decode: %v", p.Role, err)
			}
			p.Redacted()
		}
	})
}
