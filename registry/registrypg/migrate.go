package registrypg

// migrations are applied in order, each once; schema_migrations records
// version i+1 for migrations[i]. Change the schema by appending a migration,
// never by editing one that has shipped. {schema} stands for the quoted
// schema name.
//
// Names and variants use the "C" collation so List and Dependents order them
// by bytes, like every registry.Store, whatever the database's locale.
var migrations = []string{
	// 1: resources and their dependency edges.
	`CREATE TABLE {schema}.resources (
		kind        text COLLATE "C" NOT NULL,
		name        text COLLATE "C" NOT NULL,
		variant     text COLLATE "C" NOT NULL,
		-- resource.Resource.Definition(), verbatim: what a re-apply is compared
		-- with. text rather than jsonb keeps the canonical bytes and accepts
		-- every string Go marshals (jsonb rejects \u0000); cast to jsonb to query.
		definition  text NOT NULL,
		-- Copies of definition fields, for querying.
		description text NOT NULL DEFAULT '',
		owner       text NOT NULL DEFAULT '',
		tags        text[] NOT NULL DEFAULT '{}',
		status      text NOT NULL,
		error       text NOT NULL DEFAULT '',
		-- JSON array of resource.Column, NULL until discovered.
		schema      jsonb,
		created_at  timestamptz NOT NULL,
		updated_at  timestamptz NOT NULL,
		PRIMARY KEY (kind, name, variant)
	);

	CREATE INDEX resources_owner ON {schema}.resources (owner);

	-- The target of an edge need not be registered: the definition layer
	-- checks references, the registry records lineage.
	CREATE TABLE {schema}.dependencies (
		from_kind    text COLLATE "C" NOT NULL,
		from_name    text COLLATE "C" NOT NULL,
		from_variant text COLLATE "C" NOT NULL,
		to_kind      text COLLATE "C" NOT NULL,
		to_name      text COLLATE "C" NOT NULL,
		to_variant   text COLLATE "C" NOT NULL,
		PRIMARY KEY (to_kind, to_name, to_variant, from_kind, from_name, from_variant),
		FOREIGN KEY (from_kind, from_name, from_variant)
			REFERENCES {schema}.resources (kind, name, variant) ON DELETE CASCADE
	);

	CREATE INDEX dependencies_from ON {schema}.dependencies (from_kind, from_name, from_variant);`,
	// 2: the registry's identity (registry.Store.ID).
	`CREATE TABLE {schema}.registry_info (id text NOT NULL);
	INSERT INTO {schema}.registry_info (id) VALUES (replace(gen_random_uuid()::text, '-', ''));`,
	// 3: the job queue (registry.JobStore).
	`CREATE TABLE {schema}.jobs (
		id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		kind             text NOT NULL,
		resource_kind    text COLLATE "C" NOT NULL,
		resource_name    text COLLATE "C" NOT NULL,
		resource_variant text COLLATE "C" NOT NULL,
		-- The kind's arguments, opaque to the store; NULL for none.
		args             bytea,
		-- NULL when the job has no key, so keyless jobs never collide.
		key              text CONSTRAINT jobs_key UNIQUE,
		status           text NOT NULL
			CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
		attempts         integer NOT NULL DEFAULT 0,
		max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
		-- The upstream job whose failure or cancellation ended this one; 0 for none.
		blocked_by       bigint NOT NULL DEFAULT 0,
		-- Times come from the caller (registry.JobStore never reads a clock);
		-- NULL is the zero time.
		created_at       timestamptz,
		run_after        timestamptz,
		started_at       timestamptz,
		ended_at         timestamptz,
		worker           text NOT NULL DEFAULT '',
		lease_until      timestamptz,
		cancel_requested boolean NOT NULL DEFAULT false,
		rows             bigint NOT NULL DEFAULT 0,
		error            text NOT NULL DEFAULT ''
	);

	-- ClaimJob scans the live jobs in id order; the expiry sweep looks for
	-- running jobs by lease.
	CREATE INDEX jobs_live ON {schema}.jobs (id) WHERE status IN ('queued', 'running');
	CREATE INDEX jobs_lease ON {schema}.jobs (lease_until) WHERE status = 'running';
	-- RetryJob requeues the jobs an upstream blocked.
	CREATE INDEX jobs_blocked_by ON {schema}.jobs (blocked_by) WHERE blocked_by <> 0;
	CREATE INDEX jobs_resource ON {schema}.jobs (resource_kind, resource_name, resource_variant, id);

	CREATE TABLE {schema}.job_dependencies (
		job_id     bigint NOT NULL REFERENCES {schema}.jobs (id),
		depends_on bigint NOT NULL REFERENCES {schema}.jobs (id),
		PRIMARY KEY (job_id, depends_on)
	);

	CREATE INDEX job_dependencies_depends_on ON {schema}.job_dependencies (depends_on);

	CREATE TABLE {schema}.job_logs (
		job_id bigint NOT NULL REFERENCES {schema}.jobs (id),
		seq    bigint NOT NULL,
		time   timestamptz,
		line   text NOT NULL,
		PRIMARY KEY (job_id, seq)
	);`,
	// 4: a resource's watermark (resource.State.Watermark; NULL until set)
	// and a job's result (registry.Job.Result, opaque; NULL until FinishJob
	// gives one).
	`ALTER TABLE {schema}.resources ADD COLUMN watermark timestamptz;
	ALTER TABLE {schema}.jobs ADD COLUMN result bytea;`,
	// 5: the lifecycle marks (resource.State.Deprecated and Deleted; *_at
	// NULL when not deprecated or not deleted).
	`ALTER TABLE {schema}.resources
		ADD COLUMN deprecated_at timestamptz,
		ADD COLUMN deprecated_by text NOT NULL DEFAULT '',
		ADD COLUMN deprecated_reason text NOT NULL DEFAULT '',
		ADD COLUMN deleted_at timestamptz,
		ADD COLUMN deleted_by text NOT NULL DEFAULT '',
		ADD COLUMN deleted_reason text NOT NULL DEFAULT '';`,
	// 6: a file source's file as the last apply found it
	// (resource.State.SourceFile, JSON; NULL until recorded).
	`ALTER TABLE {schema}.resources ADD COLUMN source_file jsonb;`,
	// 7: model versions and aliases (registry.ModelStore). Times come from
	// the caller or the server clock; NULL is the zero time. Artifacts are
	// at most registry.MaxArtifactBytes (256 MiB), under bytea's 1 GiB.
	`CREATE TABLE {schema}.models (
		name         text COLLATE "C" PRIMARY KEY,
		-- The last version number given: CreateModelVersion increments it.
		last_version integer NOT NULL
	);

	CREATE TABLE {schema}.model_versions (
		model            text COLLATE "C" NOT NULL REFERENCES {schema}.models (name),
		version          integer NOT NULL CHECK (version >= 1),
		artifact_format  text NOT NULL,
		artifact         bytea NOT NULL,
		artifact_sha256  text NOT NULL,
		artifact_size    bigint NOT NULL,
		training_kind    text COLLATE "C" NOT NULL DEFAULT '',
		training_name    text COLLATE "C" NOT NULL DEFAULT '',
		training_variant text COLLATE "C" NOT NULL DEFAULT '',
		training_rows    bigint NOT NULL DEFAULT 0,
		label_start      timestamptz,
		label_end        timestamptz,
		-- Metric name to number.
		metrics          jsonb NOT NULL DEFAULT '{}',
		-- The feature vector encoding, JSON stored verbatim; NULL for none.
		encoding         bytea,
		trainer          text NOT NULL DEFAULT '',
		created_by       text NOT NULL DEFAULT '',
		created_at       timestamptz,
		PRIMARY KEY (model, version)
	);

	CREATE TABLE {schema}.model_aliases (
		model      text COLLATE "C" NOT NULL,
		alias      text COLLATE "C" NOT NULL,
		version    integer NOT NULL,
		updated_by text NOT NULL DEFAULT '',
		updated_at timestamptz,
		PRIMARY KEY (model, alias),
		FOREIGN KEY (model, version) REFERENCES {schema}.model_versions (model, version)
	);

	-- Every move of an alias; from_version 0 when the move created it.
	CREATE TABLE {schema}.model_alias_moves (
		model        text COLLATE "C" NOT NULL,
		alias        text COLLATE "C" NOT NULL,
		seq          integer NOT NULL,
		from_version integer NOT NULL,
		to_version   integer NOT NULL,
		moved_by     text NOT NULL DEFAULT '',
		moved_at     timestamptz,
		PRIMARY KEY (model, alias, seq)
	);`,
	// 8: the directory of the YAML file that defines a model, as the last
	// apply found it (resource.State.Dir; '' for other kinds).
	`ALTER TABLE {schema}.resources ADD COLUMN dir text NOT NULL DEFAULT '';`,
	// 9: the baseline profile of a model version (registry
	// CreateModelVersionParams.Profile), apart from the version's row so
	// that listing versions does not read it.
	`CREATE TABLE {schema}.model_profiles (
		model   text COLLATE "C" NOT NULL,
		version integer NOT NULL,
		profile bytea NOT NULL,
		PRIMARY KEY (model, version),
		FOREIGN KEY (model, version) REFERENCES {schema}.model_versions (model, version)
	);`,
	// 10: a feature's last successful materialization
	// (resource.State.Materialized; materialized_at NULL until the first).
	`ALTER TABLE {schema}.resources ADD COLUMN materialized_at timestamptz;
	ALTER TABLE {schema}.resources ADD COLUMN materialized_job bigint NOT NULL DEFAULT 0;`,
	// 11: monitor runs and their results (registry.MonitorStore).
	`CREATE TABLE {schema}.monitor_runs (
		id              bigserial PRIMARY KEY,
		monitor_name    text COLLATE "C" NOT NULL,
		monitor_variant text COLLATE "C" NOT NULL,
		at              timestamptz,
		job             bigint NOT NULL DEFAULT 0
	);
	CREATE INDEX monitor_runs_by_monitor ON {schema}.monitor_runs (monitor_name, monitor_variant, id);

	CREATE TABLE {schema}.monitor_results (
		run             bigint NOT NULL REFERENCES {schema}.monitor_runs (id),
		seq             integer NOT NULL,
		monitor_name    text COLLATE "C" NOT NULL,
		monitor_variant text COLLATE "C" NOT NULL,
		check_name      text COLLATE "C" NOT NULL,
		subject         text COLLATE "C" NOT NULL,
		state           text NOT NULL,
		method          text NOT NULL DEFAULT '',
		value           double precision,
		threshold       double precision,
		message         text NOT NULL DEFAULT '',
		-- When the subject entered state: the first run of its streak.
		since           timestamptz,
		PRIMARY KEY (run, seq)
	);
	CREATE INDEX monitor_results_by_subject ON {schema}.monitor_results (monitor_name, monitor_variant, check_name, subject, run);`,
}
