// Package online defines the online store: the low-latency key-value store
// that holds the latest value of every materialized feature per entity.
//
// An implementation (onlinekv, onlineredis) must:
//   - take ctx first on every call;
//   - make Write newer-wins per (feature, entity): a record whose timestamp is
//     older than the stored one is ignored, an equal or newer one replaces it,
//     so replaying a materialization never moves a value back in time; a
//     Write of several features decides each feature on its own; a stored
//     value dated after WriteParams.AsOf is replaced by any record;
//   - reject an invalid Write (see WriteParams) before writing any of it;
//   - answer Read for F features × B entities in one batch, a missing key
//     being a Found=false entry, never an error; use ReadParams.Buffer, if
//     at all, as the result's memory, overwriting every entry it held;
//   - delete features' values for every entity in DeleteFeatures, leaving
//     other features alone, a feature never written being no error, and
//     document what it costs;
//   - export New(ctx, Config) and pass onlinetest.Exercise;
//   - make Config its slipway.yaml section (a config.Section: Settings,
//     Check, Redact) and add it with its constructor to internal/backends.
package online
