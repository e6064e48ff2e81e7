// Package offline defines the offline store: the engine that holds sources,
// runs SQL transformations and builds point-in-time correct training sets.
//
// Slipway never pulls rows into Go to compute; it sends SQL to the engine and
// streams results. An implementation (offlineduckdb, offlinepg) must:
//   - take ctx first on every call and stop when it is cancelled;
//   - describe queries without running them (Describe);
//   - replace tables atomically (CreateTable): readers see the old table or
//     the new one, never a half-written one; report the new table's rows;
//   - implement the point-in-time join exactly as documented on
//     TrainingSetParams, inside the engine, rows in its documented order
//     (the SQL stores end the query with
//     offline/internal/sqltext.TrainingSetOrder), so exports are byte-identical;
//   - stream Rows without materialising the result in memory;
//   - map engine types to value types as documented on ColumnType;
//   - record the registry that owns its tables in Claim and refuse another;
//   - drop a table or view in DropTable, a missing one being no error;
//   - append rows in WriteRows in one transaction, creating the table
//     with the documented engine types, refusing a table of other columns;
//   - run Query read-only, refusing any statement that writes (a
//     statement that is not one SELECT, several statements in one string)
//     before it changes anything, and refuse a column of a type
//     ColumnType maps to Null before any row;
//   - report Describe and Query errors as *QueryError with the line of the
//     caller's SQL;
//   - resolve a source's relative File against Dir (SourceQueryParams.Path)
//     and check file sources whole in CheckSource, reporting *SourceError;
//   - export New(ctx, Config) and pass offlinetest.Exercise;
//   - make Config its slipway.yaml section (a config.Section: Settings,
//     Check, Redact) and add it with its constructor to internal/backends.
package offline
