package platform_test

// Issue 12's simulated world: a deterministic world whose subscribers
// have a hidden true purchase propensity asks the campaign endpoint for
// predictions, sends campaigns to the top-scored subscribers of each arm
// (and to a few at random, to keep learning), and posts feedback drawn
// from the truth. Midway one segment's behaviour shifts; the model trained
// before the shift ranks it wrongly; the retrain policy trains on the
// feedback, the new version is tested in an experiment it wins, the alias
// moves, and the endpoint serves it.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

const worldDefs = `entities:
  - name: subscriber
sources:
  - name: subscribers
    file: ../data/subscribers.csv
features:
  - {name: engagement, entity: subscriber, source: subscribers, entity_column: subscriber_id, value_column: engagement, type: float64}
  - {name: segment, entity: subscriber, source: subscribers, entity_column: subscriber_id, value_column: segment, type: string}
transformations:
  - name: campaign_outcomes
    description: The outcome of every campaign sent in the last five days of feedback.
    sql: |
      SELECT entity AS subscriber_id, event_time AS sent_at, CAST(value AS BIGINT) AS purchased
      FROM {{ feedback }}
      WHERE name = 'purchased'
        AND event_time > (SELECT max(event_time) FROM {{ feedback }} WHERE name = 'purchased') - INTERVAL '5 days'
labels:
  - {name: purchased, entity: subscriber, source: campaign_outcomes, entity_column: subscriber_id, value_column: purchased, timestamp_column: sent_at, type: int64}
training_sets:
  - {name: campaign_training, label: purchased, features: [engagement, segment]}
endpoints:
  - {name: campaign, model: campaign_model}
models:
  - name: campaign_model
    training_set: campaign_training
    task: binary_classification
    trainer: {builtin: logistic_regression}
    retrain: {feedback: purchased, new_feedback: %d}
    promote:
      when: experiment
      experiment: {endpoint: campaign, traffic: 50, metric: {feedback: purchased, window: 2d}, min_samples: %d}
`

// world is the simulation's truth and clock.
type world struct {
	rng        *rand.Rand
	ids        []string
	engagement []float64
	segment    []string
	shifted    bool
	now        atomic.Int64 // unix nanoseconds
}

func (w *world) clock() time.Time { return time.Unix(0, w.now.Load()).UTC() }

// propensity is the hidden truth: the chance that a subscriber sent a
// campaign buys. Before the shift segment b buys most and c least; after
// it, the other way round.
func (w *world) propensity(i int) float64 {
	seg := map[string]float64{"a": 0, "b": 1.2, "c": -1.2}
	if w.shifted {
		seg = map[string]float64{"a": 0, "b": -1.2, "c": 1.2}
	}
	return 1 / (1 + math.Exp(-(-1.6 + 1.5*w.engagement[i] + seg[w.segment[i]])))
}

func newWorld(seed uint64, n int, dir string) (*world, error) {
	w := &world{rng: rand.New(rand.NewPCG(seed, 0))}
	var b strings.Builder
	b.WriteString("subscriber_id,engagement,segment\n")
	for i := range n {
		w.ids = append(w.ids, fmt.Sprintf("s%05d", i))
		w.engagement = append(w.engagement, math.Round(w.rng.Float64()*1000)/1000)
		w.segment = append(w.segment, []string{"a", "b", "c"}[w.rng.IntN(3)])
		fmt.Fprintf(&b, "%s,%g,%s\n", w.ids[i], w.engagement[i], w.segment[i])
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	return w, os.WriteFile(filepath.Join(dir, "data", "subscribers.csv"), []byte(b.String()), 0o644)
}

// sim drives a platform through the world.
type sim struct {
	t     testing.TB
	p     *platform.Platform
	w     *world
	index map[string]int
	// What went through the platform, and the time spent in its calls
	// (BenchmarkSimulatedWorld reports the rates).
	predictions, events           int
	predicting, posting, shipping time.Duration
}

// outcome posts the purchased feedback of a campaign sent to subscriber i
// at sent, about prediction id (none for history): true with the truth's
// chance. The clock must be past the event time (half a day after sending).
func (s *sim) outcome(i int, predictionID string, sent time.Time) feedback.Event {
	bought := s.w.rng.Float64() < s.w.propensity(i)
	at := sent.Add(12 * time.Hour)
	return feedback.Event{PredictionID: predictionID, Endpoint: "campaign", Entity: s.w.ids[i], Time: &sent,
		Name: "purchased", Value: json.RawMessage(fmt.Sprint(bought)), EventTime: &at}
}

func (s *sim) post(events []feedback.Event) {
	s.t.Helper()
	for len(events) > 0 {
		n := min(len(events), feedback.MaxEvents)
		start := time.Now()
		if _, err := s.p.RecordFeedback(s.t.Context(), events[:n]); err != nil {
			s.t.Fatal(err)
		}
		s.posting += time.Since(start)
		s.events += n
		events = events[n:]
	}
}

// ship moves the logged predictions and feedback into the offline store.
func (s *sim) ship() {
	s.t.Helper()
	start := time.Now()
	if err := s.p.ShipLogs(s.t.Context()); err != nil {
		s.t.Fatal(err)
	}
	s.shipping += time.Since(start)
}

// run works jobs until they end, and fails the test when one failed.
func (s *sim) run(jobs []*registry.Job) []*registry.Job {
	s.t.Helper()
	if len(jobs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), 3*time.Minute)
	defer cancel()
	ended, err := platform.Wait(ctx, s.p, jobs)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, j := range ended {
		if j.Status != registry.JobSucceeded {
			logs, _ := s.p.JobLogs(ctx, &registry.JobLogsParams{ID: j.ID})
			s.t.Fatalf("job %d (%s %s) %s: %s\n%v", j.ID, j.Kind, j.Resource.Ref(), j.Status, j.Error, logs)
		}
	}
	return ended
}

// day is one simulated day: every subscriber is scored, each arm's top
// share and a random few are sent a campaign, and their outcomes are
// posted the next day. It returns the purchases per arm ("" outside any
// experiment) and how many were sent.
func (s *sim) day(top, explore float64) (bought, sent map[string]int) {
	s.t.Helper()
	ctx := s.t.Context()
	bought, sent = map[string]int{}, map[string]int{}
	type scored struct {
		i       int
		id, arm string
		prob    float64
	}
	byArm := map[string][]scored{}
	for from := 0; from < len(s.w.ids); from += 500 {
		start := time.Now()
		resp, err := s.p.Predict(ctx, &serving.PredictRequest{Endpoint: "campaign", Entities: s.w.ids[from:min(from+500, len(s.w.ids))]})
		if err != nil {
			s.t.Fatal(err)
		}
		s.predicting += time.Since(start)
		s.predictions += len(resp.Predictions)
		for _, p := range resp.Predictions {
			byArm[p.Arm] = append(byArm[p.Arm], scored{s.index[p.Entity], p.ID, p.Arm, *p.Probability})
		}
	}
	now := s.w.clock()
	var events []feedback.Event
	// Arms in order: the world's random draws must come in the same order
	// on every run.
	for _, arm := range slices.Sorted(maps.Keys(byArm)) {
		ps := byArm[arm]
		slices.SortFunc(ps, func(a, b scored) int {
			if a.prob != b.prob {
				if a.prob > b.prob {
					return -1
				}
				return 1
			}
			return strings.Compare(s.w.ids[a.i], s.w.ids[b.i])
		})
		k := int(top * float64(len(ps)))
		for j, p := range ps {
			if j >= k && s.w.rng.Float64() >= explore {
				continue
			}
			e := s.outcome(p.i, p.id, now)
			events = append(events, e)
			sent[arm]++
			if string(e.Value) == "true" {
				bought[arm]++
			}
		}
	}
	s.w.now.Add(int64(24 * time.Hour))
	s.post(events)
	s.ship()
	return bought, sent
}

// tick fires the schedules and retrain policies due at the world's clock
// and runs what they queue.
func (s *sim) tick() []*registry.Job {
	s.t.Helper()
	jobs, err := s.p.FireSchedules(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	return s.run(jobs)
}

func TestSimulatedWorldClosesTheLoop(t *testing.T) {
	simulateWorld(t, 2000)
}

// worldRun is what a simulated world did: the day its experiment
// concluded, the winner's lift and p-value, and the simulation's counts.
type worldRun struct {
	day     int
	lift, p float64
	sim     *sim
}

// simulateWorld runs the world with this many subscribers (the test's
// 2,000; the retrain policy's feedback count and min_samples grow with it).
func simulateWorld(t testing.TB, subscribers int) worldRun {
	ctx := t.Context()
	dir := t.TempDir()
	w, err := newWorld(7, subscribers, dir)
	if err != nil {
		t.Fatal(err)
	}
	w.now.Store(time.Now().UTC().Truncate(time.Hour).Add(time.Hour).UnixNano())
	cfg := config.Default()
	cfg.PredictionLog.ShipInterval = time.Hour // shipped by the simulation, when it says
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: cfg, Backends: backends.All(), Create: true, Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s := &sim{t: t, p: p, w: w, index: map[string]int{}}
	for i, id := range w.ids {
		s.index[id] = i
	}

	// History: campaigns sent at random over the last two weeks.
	var history []feedback.Event
	start := w.clock().Add(-14 * 24 * time.Hour)
	for d := range 14 {
		for i := range w.ids {
			if w.rng.Float64() < 0.1 {
				history = append(history, s.outcome(i, "", start.Add(time.Duration(d)*24*time.Hour)))
			}
		}
	}
	s.post(history)
	s.ship()

	// The project: features, a label over the feedback, the model, its endpoint.
	defsDir := filepath.Join(dir, "definitions")
	if err := os.MkdirAll(defsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	retrainAfter, minSamples := 2500*subscribers/2000, int64(600*subscribers/2000)
	if err := os.WriteFile(filepath.Join(defsDir, "world.yaml"), []byte(fmt.Sprintf(worldDefs, retrainAfter, minSamples)), 0o644); err != nil {
		t.Fatal(err)
	}
	defs, err := definition.ReadFiles(defsDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}
	s.run(must(p.Materialize(ctx, &platform.MaterializeParams{})))
	model := resource.ID{Kind: resource.KindModel, Name: "campaign_model", Variant: resource.DefaultVariant}
	s.run(must(p.Train(ctx, &platform.TrainParams{Model: model, By: "sim"})))
	if v := aliasOf(t, p); v != 1 {
		t.Fatalf("after the first training the alias points at version %d; want 1", v)
	}

	// Days before the shift, then after it, until the loop has retrained
	// and an experiment has concluded.
	const shiftDay, lastDay = 5, 30
	var concluded string
	stopped, concludedDay := 0, 0
	rates := map[string][2]int{} // per phase: bought, sent
	for d := 1; d <= lastDay && concluded == ""; d++ {
		w.shifted = d > shiftDay
		bought, sent := s.day(0.2, 0.05)
		for arm := range sent {
			phase := fmt.Sprintf("%s/%s", map[bool]string{false: "before", true: "after"}[w.shifted], arm)
			r := rates[phase]
			rates[phase] = [2]int{r[0] + bought[arm], r[1] + sent[arm]}
		}
		for _, j := range s.tick() {
			switch j.Kind {
			case coordinator.JobTrain:
				var res coordinator.TrainResult
				json.Unmarshal(j.Result, &res)
				t.Logf("day %d: trained version %d: %s", d, res.Version, res.Reason)
				if !w.shifted {
					t.Errorf("day %d: retrained before the shift; the policy needs %d new events", d, retrainAfter)
				}
			case coordinator.JobExperimentReview:
				var res coordinator.ReviewResult
				json.Unmarshal(j.Result, &res)
				switch res.Outcome {
				case coordinator.ExperimentStopped:
					t.Logf("day %d: experiment %s stopped: %s", d, res.Experiment, res.Verdict)
					stopped++
				case coordinator.ExperimentConcluded:
					t.Logf("day %d: experiment %s concluded: %s", d, res.Experiment, res.Verdict)
					if res.Winner != "challenger" {
						t.Fatalf("day %d: experiment %s concluded with %q; want the challenger", d, res.Experiment, res.Winner)
					}
					concluded, concludedDay = res.Experiment, d
				}
			}
		}
	}
	t.Logf("campaign conversion (bought/sent): %v; %d experiments stopped before one concluded", rates, stopped)
	if concluded == "" {
		t.Fatalf("no experiment concluded within %d days", lastDay)
	}
	if b, a := rates["before/"], rates["after/"]; float64(a[0])/float64(a[1]) >= float64(b[0])/float64(b[1]) {
		t.Errorf("version 1's campaigns converted %d/%d before the shift and %d/%d after; the shift should hurt it", b[0], b[1], a[0], a[1])
	}
	rep, err := p.ExperimentReport(ctx, resource.Ref{Name: concluded, Variant: resource.DefaultVariant})
	if err != nil {
		t.Fatal(err)
	}
	ch := rep.Report.Arms[1]
	if ch.P == nil || *ch.P >= rep.Report.Alpha || ch.Lift == nil || *ch.Lift <= 0 || rep.Report.Arms[0].N < minSamples || ch.N < minSamples {
		t.Errorf("concluded on %+v; want a significant positive lift past min_samples", rep.Report)
	}
	winner := rep.Arms[1].Resolved
	if v := aliasOf(t, p); v != winner || v < 2 {
		t.Fatalf("after the conclusion the alias points at version %d; want the challenger's, %d", v, winner)
	}
	// The endpoint serves the new version once its refresh has passed.
	w.now.Add(int64(serving.DefaultRefresh))
	resp, err := p.Predict(ctx, &serving.PredictRequest{Endpoint: "campaign", Entities: w.ids[:20]})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range resp.Predictions {
		if pr.Version != winner || pr.Experiment != "" {
			t.Fatalf("after the conclusion %s was answered by version %d in experiment %q; want version %d outside any", pr.Entity, pr.Version, pr.Experiment, winner)
		}
	}
	run := worldRun{day: concludedDay, sim: s}
	if ch.Lift != nil && ch.P != nil {
		run.lift, run.p = *ch.Lift, *ch.P
	}
	return run
}

func aliasOf(t testing.TB, p *platform.Platform) int {
	t.Helper()
	reg, err := p.Registry(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	a, err := reg.GetModelAlias(t.Context(), "campaign_model", resource.DefaultModelAlias)
	if err != nil {
		return 0
	}
	return a.Version
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
