package predictionlog

// Failures counts the shipping attempts of Run that failed since the
// Shipper was made (the offline store unreachable, say): each failed tick
// counts once; the entries wait on disk and the next tick tries again.
func (s *Shipper) Failures() int64 { return s.failures.Load() }
