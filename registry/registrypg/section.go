package registrypg

import (
	"errors"

	"github.com/slipway-ml/slipway/internal/pgdsn"
)

// Config is the registry: section of slipway.yaml for type postgres
// (a config.Section):
//
//	registry:
//	  type: postgres
//	  dsn: postgres://slipway:${PGPASSWORD}@db:5432/slipway   # required
//	  schema: slipway                                          # default DefaultSchema

// Settings maps the keys of the section to the fields they set.
func (c *Config) Settings() map[string]any {
	return map[string]any{"dsn": &c.DSN, "schema": &c.Schema}
}

// Check reports a missing or wrong setting.
func (c *Config) Check() error {
	if c.DSN == "" {
		return errors.New("type postgres needs dsn: (for example postgres://user:${PGPASSWORD}@host:5432/db)")
	}
	return c.Validate()
}

// Redact hides the DSN's password.
func (c *Config) Redact() { c.DSN = pgdsn.Redact(c.DSN) }
