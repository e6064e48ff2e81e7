package resource

import (
	"crypto/sha256"
	"encoding/binary"
)

// KindExperiment is an A/B experiment on an endpoint: while it runs, each
// entity a request asks the endpoint about is assigned, by a hash of the
// experiment's name and the entity key (ExperimentBucket), to one of its
// arms, and the arm's model version answers. The predictions and the
// prediction log carry the experiment and the arm; feedback on them is the
// experiment's metric (package experiment compares the arms).
//
// An experiment runs from when it is applied until it is deprecated: `slipway
// experiments conclude` (which first moves the endpoint's alias to the
// winner's version) and `slipway experiments stop` deprecate it, with the
// outcome as the reason. At most one experiment runs per endpoint.
// docs/design/experiments.md explains the choices.
const KindExperiment Kind = "experiment"

// ExperimentSpec says how an experiment splits an endpoint's traffic and
// what it measures.
type ExperimentSpec struct {
	// Endpoint is the endpoint whose traffic is split.
	Endpoint ID `json:"endpoint"`
	// Arms are the arms, the control first; at least two, with distinct names.
	Arms []ExperimentArm `json:"arms"`
	// Metric is what the arms are compared on.
	Metric ExperimentMetric `json:"metric"`
	// MinSamples is the number of exposures (entities) every arm needs
	// before a winner may be called.
	MinSamples int64 `json:"min_samples"`
	// AutoConclude has the experiment reviewed on Review's schedule, as a
	// job: it is concluded when its report calls a winner, and stopped when
	// the report flags a sample-ratio mismatch.
	AutoConclude bool `json:"auto_conclude,omitempty"`
	// Review, a cron expression (ParseSchedule), is when an AutoConclude
	// experiment is reviewed (DefaultExperimentReview when not given).
	Review string `json:"review,omitempty"`
}

// DefaultExperimentReview is how often an experiment that concludes itself
// is reviewed.
const DefaultExperimentReview = "@hourly"

// ExperimentArm is one arm: a version of the endpoint's model, named
// through an alias (the version it points at when a request is answered)
// or by number, and its share of the traffic.
type ExperimentArm struct {
	Name string `json:"name"`
	// Model is the endpoint's model's name.
	Model string `json:"model"`
	// Alias or Version (exactly one is set) says which version answers.
	Alias   string `json:"alias,omitempty"`
	Version int    `json:"version,omitempty"`
	// Weight is the arm's share of the traffic, relative to the other
	// arms' weights (positive).
	Weight float64 `json:"weight"`
}

// ExperimentMetric is an experiment's metric: the feedback named Feedback
// on an exposed entity's predictions, within Window of its first exposure.
type ExperimentMetric struct {
	// Feedback is the feedback name (as posted to /v1/feedback).
	Feedback string `json:"feedback"`
	// Kind is "conversion" (the share of exposed entities with a positive
	// feedback value) or "mean" (the mean of the entities' feedback values).
	Kind string `json:"kind"`
	// Window is how long after an entity's first exposure its feedback counts.
	Window Duration `json:"window"`
}

// Metric kinds of an experiment (package experiment's Kind).
const (
	MetricConversion = "conversion"
	MetricMean       = "mean"
)

// Experiment defaults, filled in by the loader when a definition gives none.
const (
	DefaultExperimentMinSamples = 1000
	DefaultExperimentWindow     = Duration(7 * 24 * 60 * 60 * 1e9)
)

// ExperimentBucket is where an entity falls in an experiment's traffic: a
// number in [0, 1), the same for an experiment name and entity key every
// time, so an entity stays in its arm (sticky) and an application can
// compute it too. It is the first 8 bytes of the SHA-256 of
// "NAME/ENTITY" read as a big-endian unsigned integer, shifted right by 11
// bits and divided by 2^53. In Python:
//
//	h = int.from_bytes(hashlib.sha256(f"{name}/{entity}".encode()).digest()[:8], "big")
//	bucket = (h >> 11) / 2**53
func ExperimentBucket(name, entity string) float64 {
	sum := sha256.Sum256([]byte(name + "/" + entity))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Assign returns the index of the arm an entity is assigned to: the first
// arm whose cumulative weight, as a share of the total, is above the
// entity's bucket (ExperimentBucket of the experiment's name).
func (s *ExperimentSpec) Assign(name, entity string) int {
	total := 0.0
	for _, a := range s.Arms {
		total += a.Weight
	}
	point, sum := ExperimentBucket(name, entity)*total, 0.0
	for i, a := range s.Arms {
		sum += a.Weight
		if point < sum {
			return i
		}
	}
	return len(s.Arms) - 1 // rounding at the top
}
