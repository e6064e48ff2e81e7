package registrysqlite

// migrations are applied in order, each once; schema_migrations records
// version i+1 for migrations[i]. Change the schema by appending a migration,
// never by editing one that has shipped.
var migrations = []string{
	// 1: resources and their dependency edges.
	`CREATE TABLE resources (
		kind        TEXT NOT NULL,
		name        TEXT NOT NULL,
		variant     TEXT NOT NULL,
		-- resource.Resource.Definition(): what a re-apply is compared with.
		definition  TEXT NOT NULL,
		-- Copies of definition fields, for querying.
		description TEXT NOT NULL DEFAULT '',
		owner       TEXT NOT NULL DEFAULT '',
		tags        TEXT NOT NULL DEFAULT '[]',
		status      TEXT NOT NULL,
		error       TEXT NOT NULL DEFAULT '',
		-- JSON array of resource.Column, NULL until discovered.
		schema      TEXT,
		-- UTC, RFC 3339 with microseconds.
		created_at  TEXT NOT NULL,
		updated_at  TEXT NOT NULL,
		PRIMARY KEY (kind, name, variant)
	) WITHOUT ROWID;

	CREATE INDEX resources_owner ON resources (owner);

	-- The target of an edge need not be registered: the definition layer
	-- checks references, the registry records lineage.
	CREATE TABLE dependencies (
		from_kind    TEXT NOT NULL,
		from_name    TEXT NOT NULL,
		from_variant TEXT NOT NULL,
		to_kind      TEXT NOT NULL,
		to_name      TEXT NOT NULL,
		to_variant   TEXT NOT NULL,
		PRIMARY KEY (to_kind, to_name, to_variant, from_kind, from_name, from_variant),
		FOREIGN KEY (from_kind, from_name, from_variant)
			REFERENCES resources (kind, name, variant) ON DELETE CASCADE
	) WITHOUT ROWID;

	CREATE INDEX dependencies_from ON dependencies (from_kind, from_name, from_variant);`,
	// 2: the registry's identity (registry.Store.ID).
	`CREATE TABLE registry_info (id TEXT NOT NULL);
	INSERT INTO registry_info (id) VALUES (lower(hex(randomblob(16))));`,
	// 3: the job queue (registry.JobStore). Times are integer UTC unix
	// microseconds, so that SQL compares them; NULL is the zero time.
	`CREATE TABLE jobs (
		id               INTEGER PRIMARY KEY AUTOINCREMENT,
		kind             TEXT NOT NULL,
		resource_kind    TEXT NOT NULL,
		resource_name    TEXT NOT NULL,
		resource_variant TEXT NOT NULL,
		args             BLOB,
		-- NULL when the job has no key.
		key              TEXT UNIQUE,
		status           TEXT NOT NULL,
		attempts         INTEGER NOT NULL DEFAULT 0,
		max_attempts     INTEGER NOT NULL,
		-- The upstream job whose failure or cancellation ended this one; 0 when none.
		blocked_by       INTEGER NOT NULL DEFAULT 0,
		created_at       INTEGER,
		run_after        INTEGER,
		started_at       INTEGER,
		ended_at         INTEGER,
		worker           TEXT NOT NULL DEFAULT '',
		lease_until      INTEGER,
		cancel_requested INTEGER NOT NULL DEFAULT 0,
		rows             INTEGER NOT NULL DEFAULT 0,
		error            TEXT NOT NULL DEFAULT ''
	);

	-- ClaimJob looks for queued jobs whose run_after has come and for
	-- running jobs whose lease has expired.
	CREATE INDEX jobs_run_after ON jobs (status, run_after);
	CREATE INDEX jobs_lease_until ON jobs (status, lease_until);
	CREATE INDEX jobs_blocked_by ON jobs (blocked_by);
	CREATE INDEX jobs_resource ON jobs (resource_kind, resource_name, resource_variant);

	CREATE TABLE job_dependencies (
		job_id     INTEGER NOT NULL REFERENCES jobs (id),
		depends_on INTEGER NOT NULL REFERENCES jobs (id),
		PRIMARY KEY (job_id, depends_on)
	) WITHOUT ROWID;

	CREATE INDEX job_dependencies_depends_on ON job_dependencies (depends_on);

	CREATE TABLE job_logs (
		job_id INTEGER NOT NULL REFERENCES jobs (id),
		seq    INTEGER NOT NULL,
		time   INTEGER,
		line   TEXT NOT NULL,
		PRIMARY KEY (job_id, seq)
	) WITHOUT ROWID;`,
	// 4: a resource's watermark (resource.State.Watermark: UTC, RFC 3339
	// with microseconds like created_at; NULL until set) and a job's result
	// (registry.Job.Result, opaque; NULL until FinishJob gives one).
	`ALTER TABLE resources ADD COLUMN watermark TEXT;
	ALTER TABLE jobs ADD COLUMN result BLOB;`,
	// 5: the lifecycle marks (resource.State.Deprecated and Deleted; the
	// times like created_at, NULL when not deprecated or not deleted).
	`ALTER TABLE resources ADD COLUMN deprecated_at TEXT;
	ALTER TABLE resources ADD COLUMN deprecated_by TEXT NOT NULL DEFAULT '';
	ALTER TABLE resources ADD COLUMN deprecated_reason TEXT NOT NULL DEFAULT '';
	ALTER TABLE resources ADD COLUMN deleted_at TEXT;
	ALTER TABLE resources ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
	ALTER TABLE resources ADD COLUMN deleted_reason TEXT NOT NULL DEFAULT '';`,
	// 6: a file source's file as the last apply found it
	// (resource.State.SourceFile, JSON; NULL until recorded).
	`ALTER TABLE resources ADD COLUMN source_file TEXT;`,
	// 7: model versions and aliases (registry.ModelStore). Times are
	// integer UTC unix microseconds like the jobs'; NULL is the zero time.
	`CREATE TABLE models (
		name         TEXT PRIMARY KEY,
		-- The last version number given: CreateModelVersion increments it.
		last_version INTEGER NOT NULL
	) WITHOUT ROWID;

	CREATE TABLE model_versions (
		model            TEXT NOT NULL REFERENCES models (name),
		version          INTEGER NOT NULL,
		artifact_format  TEXT NOT NULL,
		artifact         BLOB NOT NULL,
		artifact_sha256  TEXT NOT NULL,
		artifact_size    INTEGER NOT NULL,
		training_kind    TEXT NOT NULL DEFAULT '',
		training_name    TEXT NOT NULL DEFAULT '',
		training_variant TEXT NOT NULL DEFAULT '',
		training_rows    INTEGER NOT NULL DEFAULT 0,
		label_start      INTEGER,
		label_end        INTEGER,
		-- JSON object of metric name to number.
		metrics          TEXT NOT NULL DEFAULT '{}',
		-- The feature vector encoding, JSON stored verbatim; NULL for none.
		encoding         BLOB,
		trainer          TEXT NOT NULL DEFAULT '',
		created_by       TEXT NOT NULL DEFAULT '',
		created_at       INTEGER,
		PRIMARY KEY (model, version)
	);

	CREATE TABLE model_aliases (
		model      TEXT NOT NULL,
		alias      TEXT NOT NULL,
		version    INTEGER NOT NULL,
		updated_by TEXT NOT NULL DEFAULT '',
		updated_at INTEGER,
		PRIMARY KEY (model, alias),
		FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
	) WITHOUT ROWID;

	-- Every move of an alias; from_version 0 when the move created it.
	CREATE TABLE model_alias_moves (
		model        TEXT NOT NULL,
		alias        TEXT NOT NULL,
		seq          INTEGER NOT NULL,
		from_version INTEGER NOT NULL,
		to_version   INTEGER NOT NULL,
		moved_by     TEXT NOT NULL DEFAULT '',
		moved_at     INTEGER,
		PRIMARY KEY (model, alias, seq)
	) WITHOUT ROWID;`,
	// 8: the directory of the YAML file that defines a model, as the last
	// apply found it (resource.State.Dir; '' for other kinds).
	`ALTER TABLE resources ADD COLUMN dir TEXT NOT NULL DEFAULT '';`,
	// 9: the baseline profile of a model version (registry
	// CreateModelVersionParams.Profile), apart from the version's row so
	// that listing versions does not read it.
	`CREATE TABLE model_profiles (
		model   TEXT NOT NULL,
		version INTEGER NOT NULL,
		profile BLOB NOT NULL,
		PRIMARY KEY (model, version),
		FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
	) WITHOUT ROWID;`,
	// 10: a feature's last successful materialization
	// (resource.State.Materialized: materialized_at like the watermark,
	// NULL until the first; materialized_job its job).
	`ALTER TABLE resources ADD COLUMN materialized_at TEXT;
	ALTER TABLE resources ADD COLUMN materialized_job INTEGER NOT NULL DEFAULT 0;`,
	// 11: monitor runs and their results (registry.MonitorStore). Times
	// are integer UTC unix microseconds like the jobs'.
	`CREATE TABLE monitor_runs (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		monitor_name    TEXT NOT NULL,
		monitor_variant TEXT NOT NULL,
		at              INTEGER,
		job             INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX monitor_runs_by_monitor ON monitor_runs (monitor_name, monitor_variant, id);

	CREATE TABLE monitor_results (
		run             INTEGER NOT NULL REFERENCES monitor_runs (id),
		seq             INTEGER NOT NULL,
		monitor_name    TEXT NOT NULL,
		monitor_variant TEXT NOT NULL,
		check_name      TEXT NOT NULL,
		subject         TEXT NOT NULL,
		state           TEXT NOT NULL,
		method          TEXT NOT NULL DEFAULT '',
		value           REAL,
		threshold       REAL,
		message         TEXT NOT NULL DEFAULT '',
		-- When the subject entered state: the first run of its streak.
		since           INTEGER,
		PRIMARY KEY (run, seq)
	) WITHOUT ROWID;
	CREATE INDEX monitor_results_by_subject ON monitor_results (monitor_name, monitor_variant, check_name, subject, run);`,
}
