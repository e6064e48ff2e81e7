// Package registry defines the metadata store that records every resource,
// its state and its lineage.
//
// An implementation (registrysqlite, registrypg) must:
//   - take ctx first on every call and stop when it is cancelled;
//   - make Apply atomic: check the batch with ApplyBatch, validate every
//     resource against what is registered
//     and write all or nothing, serialising concurrent applies;
//   - treat a re-applied identical definition (resource.Resource.Definition)
//     as unchanged and a different one as a *ConflictError carrying
//     resource.Diff;
//   - store dependency edges (resource.Resource.Dependencies) so Dependents
//     is one query;
//   - return errors wrapping ErrNotFound and ErrConflict, never driver errors
//     for those cases;
//   - give the registry a random ID at creation (its first migrations) and
//     return it from ID, stable for the registry's life;
//   - implement JobStore in the same database: claims that never hand one
//     job to two live leases (across processes), fenced UpdateJob and
//     FinishJob (worker and attempt), failure and cancellation cascading to
//     dependents, RecoverJobs (never ClaimJob) ending the attempts whose
//     lease expired in one transaction, only the times given in the
//     params (never a clock), and CountJobs in one query (every scrape of
//     /metrics runs it);
//   - implement the lifecycle (lifecycle.go): Deprecate and Delete in one
//     transaction each, Delete refusing a resource that resources not
//     deleted depend on (*DependentsError); keep deleted resources as
//     tombstones that Get answers with *DeletedError, that List and
//     Dependents leave out unless asked, and that Apply never registers
//     again (nor anything that refers to one);
//   - implement ModelStore (models.go): version numbers assigned in one
//     transaction so concurrent creates get distinct consecutive ones,
//     versions never changed once created, artifacts checked with
//     CheckModelVersion (MaxArtifactBytes) and their sha256 computed, and
//     alias moves that compare-and-set (ErrAliasMoved) and record history;
//   - implement MonitorStore (monitors.go): a run and its results written
//     in one transaction, run IDs increasing, times kept to the microsecond
//     in UTC, and the latest result per check and subject in one query;
//   - export New(ctx, Config) and pass registrytest.Exercise and
//     registrytest.ExerciseShared (stores of several processes on one
//     registry).
package registry
