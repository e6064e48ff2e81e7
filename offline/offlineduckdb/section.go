package offlineduckdb

// Config is the offline: section of slipway.yaml for type duckdb
// (a config.Section):
//
//	offline:
//	  type: duckdb
//	  path: /data/offline.duckdb   # default: offline.duckdb in the data directory
//	  memory_limit: 4GB            # default: env SLIPWAY_DUCKDB_MEMORY_LIMIT, else DuckDB's
//	  threads: 8                   # default: DuckDB's (all cores)
//	  checkpoint_threshold: 256MiB # the size of DuckDB's write-ahead log that triggers a checkpoint (default 256MiB)

// Settings maps the keys of the section to the fields they set.
func (c *Config) Settings() map[string]any {
	return map[string]any{"path": &c.Path, "memory_limit": &c.MemoryLimit, "threads": &c.Threads, "checkpoint_threshold": &c.CheckpointThreshold}
}

// Check reports a wrong setting. No path is the data directory's file,
// which the wiring fills in.
func (c *Config) Check() error { return c.Validate() }

// Redact hides nothing: the section holds no secret.
func (c *Config) Redact() {}
