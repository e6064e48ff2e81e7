package registrysqlite

// Config is the registry: section of slipway.yaml for type sqlite
// (a config.Section):
//
//	registry:
//	  type: sqlite
//	  path: /var/lib/slipway/registry.db   # default: registry.db in the data directory

// Settings maps the keys of the section to the fields they set.
func (c *Config) Settings() map[string]any { return map[string]any{"path": &c.Path} }

// Check reports a wrong setting. No path is the data directory's file,
// which the wiring fills in.
func (c *Config) Check() error {
	if c.Path == "" {
		return nil
	}
	return c.Validate()
}

// Redact hides nothing: the section holds no secret.
func (c *Config) Redact() {}
