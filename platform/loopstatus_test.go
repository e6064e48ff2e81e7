package platform_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/internal/backends"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// loopStep returns the step of a status, failing the test without it.
func loopStep(t *testing.T, st *platform.LoopStatus, name string) platform.LoopStep {
	t.Helper()
	for _, s := range st.Steps {
		if s.Step == name {
			return s
		}
	}
	t.Fatalf("loop status has no step %s: %+v", name, st.Steps)
	return platform.LoopStep{}
}

// checkStep fails the test unless the step is in state and its summary
// holds every part.
func checkStep(t *testing.T, when string, st *platform.LoopStatus, name, state string, job int64, parts ...string) {
	t.Helper()
	s := loopStep(t, st, name)
	if s.State != state || s.Job != job {
		t.Errorf("%s: step %s is %s (job %d): %s; want %s (job %d)", when, name, s.State, s.Job, s.Summary, state, job)
	}
	for _, p := range parts {
		if !strings.Contains(s.Summary, p) {
			t.Errorf("%s: step %s says %q; want it to say %q", when, name, s.Summary, p)
		}
	}
}

// jobOf returns the one job of a kind among jobs (0: none).
func jobOf(t *testing.T, jobs []*registry.Job, kind string) *registry.Job {
	t.Helper()
	var out *registry.Job
	for _, j := range jobs {
		if j.Kind == kind {
			if out != nil {
				t.Fatalf("two %s jobs: %d and %d", kind, out.ID, j.ID)
			}
			out = j
		}
	}
	return out
}

// TestLoopStatusFollowsTheLoop drives the simulated world of
// TestSimulatedWorldClosesTheLoop and reads the loop's status at each
// turn: feedback collecting towards the retrain policy, then reached; the
// retraining queued by the policy; its validation starting an experiment;
// the experiment running, stopped, then another concluded; the alias
// serving the winner. Each step names its job.
func TestLoopStatusFollowsTheLoop(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) { testLoopStatus(t, config.Default(), nil) })
	t.Run("Postgres", func(t *testing.T) {
		// The registry and the offline store in schemas of their own.
		dsn, reg := testenv.PostgresSchema(t)
		_, off := testenv.PostgresSchema(t)
		yaml := fmt.Sprintf("registry: {type: postgres, dsn: %q, schema: %s}\noffline: {type: postgres, dsn: %q, schema: %s}\n", dsn, reg, dsn, off)
		cfg, err := config.Parse("slipway.yaml", []byte(yaml), func(string) (string, bool) { return "", false }, backends.All().Sections)
		if err != nil {
			t.Fatal(err)
		}
		// PostgreSQL reads tables, not files: the subscribers are loaded
		// into one.
		testLoopStatus(t, cfg, func(w *world) string {
			conn, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			table := pgx.Identifier{off, "subscribers"}
			for _, q := range []string{"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{off}.Sanitize(),
				"CREATE TABLE " + table.Sanitize() + " (subscriber_id text, engagement double precision, segment text)"} {
				if _, err := conn.Exec(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			rows := make([][]any, len(w.ids))
			for i := range w.ids {
				rows[i] = []any{w.ids[i], w.engagement[i], w.segment[i]}
			}
			if _, err := conn.CopyFrom(t.Context(), table, []string{"subscriber_id", "engagement", "segment"}, pgx.CopyFromRows(rows)); err != nil {
				t.Fatal(err)
			}
			return "table: " + off + ".subscribers"
		})
	})
}

// testLoopStatus runs the loop status test on the stores cfg names; source,
// when set, makes the world's subscribers a table and says where.
func testLoopStatus(t *testing.T, cfg *config.Config, source func(*world) string) {
	ctx := t.Context()
	dir := t.TempDir()
	w, err := newWorld(7, 2000, dir)
	if err != nil {
		t.Fatal(err)
	}
	const retrainAfter, minSamples = 2500, 600
	defsText := fmt.Sprintf(worldDefs, retrainAfter, minSamples)
	if source != nil {
		defsText = strings.Replace(defsText, "file: ../data/subscribers.csv", source(w), 1)
	}
	// The world's clock runs ahead of the wall clock, which the registry
	// dates definitions by: feedback the world posts before a definition is
	// applied counts as received after it.
	w.now.Store(time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour).UnixNano())
	cfg.PredictionLog.ShipInterval = time.Hour
	p, err := platform.Open(ctx, platform.Options{DataDir: filepath.Join(dir, ".slipway"), Config: cfg, Backends: backends.All(), Create: true, Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s := &sim{t: t, p: p, w: w, index: map[string]int{}}
	for i, id := range w.ids {
		s.index[id] = i
	}
	status := func() *platform.LoopStatus {
		t.Helper()
		st, err := p.LoopStatus(ctx, "campaign_model")
		if err != nil {
			t.Fatal(err)
		}
		if !st.At.Equal(w.clock()) {
			t.Errorf("status read at %s; want the platform's clock, %s", st.At, w.clock())
		}
		return st
	}

	if _, err := p.LoopStatus(ctx, "campaign_model"); !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "slipway models list") {
		t.Errorf("status of a model not defined yet: %v; want not found, pointing at `slipway models list`", err)
	}
	if _, err := p.LoopStatus(ctx, "Not A Name"); !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("status of a bad name: %v; want invalid", err)
	}

	// History: campaigns sent at random over the last two weeks (the
	// definitions' SQL reads the feedback source it makes).
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
	w.now.Add(int64(time.Minute))

	defsDir := filepath.Join(dir, "definitions")
	if err := os.MkdirAll(defsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(defsDir, "world.yaml"), []byte(defsText), 0o644); err != nil {
		t.Fatal(err)
	}
	defs, err := definition.ReadFiles(defsDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, defs); err != nil {
		t.Fatal(err)
	}

	// Defined, never trained.
	st := status()
	if len(st.Definitions) != 1 || st.Definitions[0].Retrain == nil || st.Definitions[0].Retrain.NewFeedback != retrainAfter ||
		st.Definitions[0].Promote.When != resource.PromoteExperiment || st.Definitions[0].Promote.Experiment == nil || st.LatestVersion != 0 {
		t.Fatalf("definitions %+v, latest version %d", st.Definitions, st.LatestVersion)
	}
	if len(st.Endpoints) != 1 || st.Endpoints[0].ID.Name != "campaign" || st.Endpoints[0].Alias != resource.DefaultModelAlias {
		t.Errorf("endpoints %+v; want campaign over production", st.Endpoints)
	}
	checkStep(t, "before training", st, platform.StepFeedback, "reached", 0,
		textfmt.Count(int64(len(history)))+" of 2,500 new purchased events since it was registered: enough to retrain")
	checkStep(t, "before training", st, platform.StepTraining, "none", 0, "slipway train campaign_model")
	checkStep(t, "before training", st, platform.StepValidation, "none", 0)
	checkStep(t, "before training", st, platform.StepExperiment, "none", 0, "promote.when: experiment")
	checkStep(t, "before training", st, platform.StepServing, "none", 0, "production points at no version yet; served by endpoint campaign:default")
	if slices.ContainsFunc(st.Steps, func(s platform.LoopStep) bool { return s.Step == platform.StepSchedule }) {
		t.Errorf("a model without a schedule has a schedule step: %+v", st.Steps)
	}

	// Feedback after the definition, then version 1 trained by hand.
	w.now.Add(int64(time.Minute))
	var recent []feedback.Event
	for i := range 37 {
		recent = append(recent, s.outcome(i, "", w.clock().Add(-24*time.Hour)))
	}
	s.post(recent)
	s.ship()
	checkStep(t, "after feedback", status(), platform.StepFeedback, "reached", 0, textfmt.Count(int64(len(history)+37))+" of 2,500 new purchased events since it was registered")
	s.run(must(p.Materialize(ctx, &platform.MaterializeParams{})))
	model := resource.ID{Kind: resource.KindModel, Name: "campaign_model", Variant: resource.DefaultVariant}
	w.now.Add(int64(time.Minute))
	train := jobOf(t, s.run(must(p.Train(ctx, &platform.TrainParams{Model: model, By: "sim"}))), coordinator.JobTrain)
	st = status()
	if len(st.Trainings) != 1 || st.Trainings[0].Job != train.ID || st.Trainings[0].By != "sim" || st.Trainings[0].Result == nil ||
		st.Trainings[0].Result.Version != 1 || !st.Trainings[0].Result.Promoted || st.LatestVersion != 1 {
		t.Fatalf("trainings after version 1: %+v", st.Trainings)
	}
	checkStep(t, "after version 1", st, platform.StepFeedback, "collecting", 0, "0 of 2,500 new purchased events since version 1")
	checkStep(t, "after version 1", st, platform.StepTraining, "succeeded", train.ID, fmt.Sprintf("job %d succeeded", train.ID), "queued by sim", "version 1")
	checkStep(t, "after version 1", st, platform.StepValidation, "promoted", train.ID, "version 1 promoted to production: production pointed at no version")
	checkStep(t, "after version 1", st, platform.StepServing, "serving", 0, "production -> version 1 (moved at ", " by sim)", "served by endpoint campaign:default")
	if a := st.Aliases; len(a) != 1 || a[0].Version != 1 || len(a[0].Moves) != 1 || a[0].Moves[0].From != 0 || a[0].Moves[0].To != 1 {
		t.Errorf("aliases after version 1: %+v", a)
	}

	// Days: feedback collects until the policy retrains, an experiment
	// runs, is stopped, another concludes. The schedules fire through a
	// coordinator of the platform's stores on the world's clock.
	reg, err := p.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	off, err := p.Offline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &coordinator.Coordinator{Registry: reg, Offline: off, Feedback: feedback.Reader{Registry: reg, Offline: off}, Now: w.clock}
	const shiftDay, lastDay = 5, 30
	sinceVersion := int64(0) // feedback events posted since the newest version
	var retrained, experimented, stopped, concluded bool
	for d := 1; d <= lastDay && !concluded; d++ {
		w.shifted = d > shiftDay
		_, sent := s.day(0.2, 0.05)
		for _, n := range sent {
			sinceVersion += int64(n)
		}
		when := fmt.Sprintf("day %d", d)
		st = status()
		t.Logf("%s: %s", when, loopStep(t, st, platform.StepFeedback).Summary)
		def := st.Definitions[0]
		if def.NewFeedback != sinceVersion || def.SinceVersion != st.LatestVersion {
			t.Errorf("%s: status counts %d new events since version %d; %d were posted since version %d", when, def.NewFeedback, def.SinceVersion, sinceVersion, st.LatestVersion)
		}
		due := sinceVersion >= retrainAfter
		if due {
			checkStep(t, when, st, platform.StepFeedback, "reached", 0, fmt.Sprintf("%s of 2,500 new purchased events since version %d: enough to retrain", textfmt.Count(sinceVersion), st.LatestVersion))
		} else {
			checkStep(t, when, st, platform.StepFeedback, "collecting", 0, fmt.Sprintf("%s of 2,500 new purchased events since version %d", textfmt.Count(sinceVersion), st.LatestVersion))
		}

		// The scheduler's tick (what FireSchedules does), its jobs worked
		// only once the status has seen them queued.
		jobs, err := (&coordinator.Scheduler{Coordinator: c}).Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		train := jobOf(t, jobs, coordinator.JobTrain)
		if due != (train != nil) {
			t.Fatalf("%s: %d new events against 2,500, training queued: %v", when, sinceVersion, train != nil)
		}
		st = status()
		if train != nil {
			checkStep(t, when, st, platform.StepTraining, "queued", train.ID, fmt.Sprintf("job %d queued at %s, queued by retrain policy, after 1 upstream job(s) rebuilding its inputs",
				train.ID, w.clock().Format("2006-01-02 15:04:05 UTC")))
			checkStep(t, when, st, platform.StepFeedback, "reached", train.ID, fmt.Sprintf("enough to retrain; training job %d is queued", train.ID))
		}
		if review := jobOf(t, jobs, coordinator.JobExperimentReview); review != nil {
			if r := st.Experiments[0].LastReview; r == nil || r.Job != review.ID || r.Status != registry.JobQueued || r.Result != nil {
				t.Errorf("%s: review job %d queued, the experiment's last review is %+v", when, review.ID, r)
			}
		}
		if _, err := (&coordinator.Worker{Coordinator: c}).Work(ctx, coordinator.JobIDs(jobs)); err != nil {
			t.Fatal(err)
		}
		ended := s.run(jobs)
		review := jobOf(t, ended, coordinator.JobExperimentReview)
		st = status()
		if train != nil {
			retrained = true
			sinceVersion = 0
			res := st.Trainings[0].Result
			if res == nil || st.Trainings[0].Job != train.ID || st.Trainings[0].By != "retrain policy" || res.Version != st.LatestVersion {
				t.Fatalf("%s: trainings %+v", when, st.Trainings)
			}
			checkStep(t, when, st, platform.StepTraining, "succeeded", train.ID, "queued by retrain policy", fmt.Sprintf("version %d", res.Version))
			checkStep(t, when, st, platform.StepFeedback, "collecting", 0, fmt.Sprintf("0 of 2,500 new purchased events since version %d", res.Version))
			if res.Experiment == "" {
				t.Fatalf("%s: version %d started no experiment: %s", when, res.Version, res.Reason)
			}
			experimented = true
			checkStep(t, when, st, platform.StepValidation, "experiment", train.ID, fmt.Sprintf("version %d: %s", res.Version, res.Reason))
			exp := st.Experiments[0]
			if exp.ID.Name != res.Experiment || exp.State != platform.ExperimentRunning || len(exp.Arms) != 2 || exp.Arms[1].Resolved != res.Version ||
				exp.Arms[1].Model != fmt.Sprintf("campaign_model@%d", res.Version) || exp.Arms[0].Model != "campaign_model@production" || exp.MinSamples != minSamples {
				t.Errorf("%s: experiments %+v", when, st.Experiments)
			}
			checkStep(t, when, st, platform.StepExperiment, "running", 0, res.Experiment+" on endpoint campaign:default: exposures control 0, challenger 0 (min_samples 600 per arm)",
				"next review at "+w.clock().Truncate(time.Hour).Add(time.Hour).Format("2006-01-02 15:04:05 UTC"))
		}
		if review == nil {
			continue
		}
		var rr coordinator.ReviewResult
		if err := json.Unmarshal(review.Result, &rr); err != nil {
			t.Fatal(err)
		}
		st = status()
		switch rr.Outcome {
		case coordinator.ExperimentRunning:
			e := st.Experiments[0]
			if e.ID.Name != rr.Experiment || e.LastReview == nil || e.LastReview.Job != review.ID || e.LastReview.Result == nil || e.LastReview.Result.Outcome != "running" {
				t.Errorf("%s: experiment after a review that left it running: %+v", when, e)
			}
			arms := fmt.Sprintf("exposures control %s, challenger %s (min_samples 600 per arm); %s", textfmt.Count(e.Arms[0].N), textfmt.Count(e.Arms[1].N), e.Verdict)
			checkStep(t, when, st, platform.StepExperiment, "running", review.ID, rr.Experiment, arms)
		case coordinator.ExperimentStopped:
			stopped = true
			checkStep(t, when, st, platform.StepExperiment, "none", review.ID, "none running", "last: "+rr.Experiment+" stopped: ")
			if e := st.Experiments[0]; e.ID.Name != rr.Experiment || e.State != platform.ExperimentStopped || e.Arms != nil {
				t.Errorf("%s: experiments after a stop: %+v", when, st.Experiments)
			}
		case coordinator.ExperimentConcluded:
			concluded = true
			v := st.LatestVersion
			checkStep(t, when, st, platform.StepExperiment, "none", review.ID,
				fmt.Sprintf("last: %s concluded: winner challenger (model campaign_model version %d)", rr.Experiment, v))
			checkStep(t, when, st, platform.StepServing, "serving", 0, fmt.Sprintf("production -> version %d (moved at %s by experiment review (experiment %s:default))",
				v, w.clock().Format("2006-01-02 15:04:05 UTC"), rr.Experiment))
			moves := st.Aliases[0].Moves
			if last := moves[len(moves)-1]; last.From != 1 || last.To != v {
				t.Errorf("%s: alias moves %+v; want the last from 1 to %d", when, moves, v)
			}
		}
	}
	if !retrained || !experimented || !stopped || !concluded {
		t.Fatalf("the world went: retrained %v, experiment %v, one stopped %v, one concluded %v; want all", retrained, experimented, stopped, concluded)
	}
	for _, s := range st.Steps {
		t.Logf("%-10s %-10s job %-3d %s", s.Step, s.State, s.Job, s.Summary)
	}
	// The ended experiments, newest first.
	if e := st.Experiments; len(e) != 2 || e[0].State != platform.ExperimentConcluded || e[1].State != platform.ExperimentStopped {
		t.Errorf("experiments at the end: %+v", e)
	}
}
