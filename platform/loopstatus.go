package platform

// Loop status: where each step of a model's feedback loop stands (new
// feedback against the retrain policy, the schedule, the last trainings and
// what validation decided, the experiment testing a new version, the alias
// the endpoints serve), read from the registry, the job queue and the
// offline store. Every step that ran is an ordinary job: the status names
// it, for `slipway jobs logs ID`.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/internal/textfmt"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// How much history a LoopStatus carries.
const (
	// LoopTrainings is the number of a model's trainings shown, newest first.
	LoopTrainings = 5
	// LoopAliasMoves is the number of an alias's moves shown, newest last.
	LoopAliasMoves = 5
	// LoopEndedExperiments is the number of ended experiments shown.
	LoopEndedExperiments = 3
)

// The steps of a LoopStatus, in the loop's order.
const (
	StepFeedback   = "feedback"
	StepSchedule   = "schedule"
	StepTraining   = "training"
	StepValidation = "validation"
	StepExperiment = "experiment"
	StepServing    = "serving"
)

// LoopStatus is where a model's feedback loop stands, as `slipway loop
// status` shows it (GET /v1/models/{model}/loop answers it as JSON).
type LoopStatus struct {
	Model string `json:"model"`
	// At is when the status was read (the platform's clock).
	At time.Time `json:"at"`
	// Definitions are the model's definitions (variants) with their loop
	// policy; none for a model only registered from files.
	Definitions []LoopDefinition `json:"definitions"`
	// LatestVersion is the model's newest version (0: none yet).
	LatestVersion int `json:"latest_version"`
	// Aliases are the aliases the definitions promote (every alias of a
	// model without definitions), with their last moves.
	Aliases []LoopAlias `json:"aliases"`
	// Endpoints are the endpoints serving the model (not deprecated).
	Endpoints []LoopEndpoint `json:"endpoints"`
	// Trainings are the model's last training jobs, newest first.
	Trainings []LoopTraining `json:"trainings"`
	// Experiments are the experiments with an arm of the model: the running
	// ones first, then the last ended ones, newest first.
	Experiments []LoopExperiment `json:"experiments"`
	// Steps say in plain words where each step stands, in the loop's order.
	Steps []LoopStep `json:"steps"`
}

// LoopDefinition is one definition of a model and its loop policy.
type LoopDefinition struct {
	ID resource.ID `json:"id"`
	// Schedule retrains the model on a cron schedule ("" none); NextRun is
	// its next firing after At.
	Schedule string     `json:"schedule,omitempty"`
	NextRun  *time.Time `json:"next_run,omitempty"`
	// Retrain retrains it once enough new feedback arrived (nil: no such
	// policy); NewFeedback counts the events since version SinceVersion
	// (0: since the definition was registered), or FeedbackError says why
	// they could not be counted.
	Retrain       *resource.ModelRetrain `json:"retrain,omitempty"`
	NewFeedback   int64                  `json:"new_feedback"`
	SinceVersion  int                    `json:"since_version"`
	FeedbackError string                 `json:"feedback_error,omitempty"`
	// Promote is when a new version moves the alias.
	Promote resource.ModelPromote `json:"promote"`
}

// LoopAlias is an alias with its last moves (oldest first).
type LoopAlias struct {
	Alias string `json:"alias"`
	// Version is the version it points at (0: none yet).
	Version   int             `json:"version"`
	UpdatedBy string          `json:"updated_by,omitempty"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
	Moves     []LoopAliasMove `json:"moves"`
}

// LoopAliasMove is one move of an alias, from version From (0: created)
// to To.
type LoopAliasMove struct {
	From int       `json:"from"`
	To   int       `json:"to"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// LoopEndpoint is an endpoint serving the model through an alias.
type LoopEndpoint struct {
	ID    resource.ID `json:"id"`
	Alias string      `json:"alias"`
}

// LoopTraining is one training job of the model.
type LoopTraining struct {
	Job        int64              `json:"job"`
	Definition resource.ID        `json:"definition"`
	Status     registry.JobStatus `json:"status"`
	// By is who queued it: "schedule", "retrain policy", or a person.
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Waiting counts the upstream jobs (rebuilds) it runs after.
	Waiting int    `json:"waiting,omitempty"`
	Error   string `json:"error,omitempty"`
	// Result is what a succeeded training did: the version, whether it was
	// promoted and why, the experiment it started.
	Result *coordinator.TrainResult `json:"result,omitempty"`
}

// LoopExperiment is an experiment with an arm of the model.
type LoopExperiment struct {
	ID       resource.ID `json:"id"`
	Endpoint resource.ID `json:"endpoint"`
	// State is running, concluded, stopped or ended; Ended says when, by
	// whom and why it ended.
	State string         `json:"state"`
	Ended *resource.Mark `json:"ended,omitempty"`
	// AutoConclude experiments are reviewed on Review's schedule, next at
	// NextReview while they run.
	AutoConclude bool       `json:"auto_conclude,omitempty"`
	Review       string     `json:"review,omitempty"`
	NextReview   *time.Time `json:"next_review,omitempty"`
	MinSamples   int64      `json:"min_samples"`
	// Arms, Verdict, Winner and SRMFlagged are the report of a running
	// experiment; ReportError says why it could not be read.
	Arms        []LoopArm `json:"arms,omitempty"`
	Verdict     string    `json:"verdict,omitempty"`
	Winner      string    `json:"winner,omitempty"`
	SRMFlagged  bool      `json:"srm_flagged,omitempty"`
	ReportError string    `json:"report_error,omitempty"`
	// LastReview is its last review job.
	LastReview *LoopReview `json:"last_review,omitempty"`
}

// LoopArm is one arm of a running experiment's report.
type LoopArm struct {
	Name string `json:"name"`
	// Model is MODEL@ALIAS or MODEL@VERSION; Resolved the version it is now.
	Model    string   `json:"model"`
	Resolved int      `json:"resolved"`
	N        int64    `json:"n"`
	Metric   float64  `json:"metric"`
	P        *float64 `json:"p,omitempty"`
}

// LoopReview is an experiment's review job.
type LoopReview struct {
	Job       int64                     `json:"job"`
	Status    registry.JobStatus        `json:"status"`
	CreatedAt time.Time                 `json:"created_at"`
	EndedAt   time.Time                 `json:"ended_at,omitzero"`
	Error     string                    `json:"error,omitempty"`
	Result    *coordinator.ReviewResult `json:"result,omitempty"`
}

// LoopStep says where one step of the loop stands.
type LoopStep struct {
	// Step is one of StepFeedback, StepSchedule, StepTraining,
	// StepValidation, StepExperiment, StepServing.
	Step string `json:"step"`
	// State is a word: for feedback collecting, reached or unknown; for a
	// job its status; promoted, not_promoted or experiment for validation;
	// running or none for the experiment; serving or none for serving; off
	// for a step the definitions leave out.
	State   string `json:"state"`
	Summary string `json:"summary"`
	// Job is the job to look at (`slipway jobs logs ID`), 0 when none.
	Job int64 `json:"job,omitempty"`
}

// LoopStatus reads where each step of a model's feedback loop stands. A
// model neither defined nor registered is ErrNotFound.
func (p *Platform) LoopStatus(ctx context.Context, model string) (*LoopStatus, error) {
	if err := resource.ValidateName(model); err != nil {
		return nil, invalid("model %v", err)
	}
	c, err := p.coordinator(ctx, true, false)
	if err != nil {
		return nil, err
	}
	reg := c.Registry
	defs, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindModel, Name: model})
	if err != nil {
		return nil, fmt.Errorf("listing the definitions of model %s: %w", model, err)
	}
	versions, err := reg.ListModelVersions(ctx, &registry.ListModelVersionsParams{Model: model, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("reading the versions of model %s: %w", model, err)
	}
	if len(defs) == 0 && len(versions) == 0 {
		return nil, fmt.Errorf("model %s: %w: it is neither defined nor registered (`slipway models list` shows the models)", model, registry.ErrNotFound)
	}
	now := p.opts.Now().UTC()
	st := &LoopStatus{Model: model, At: now, Definitions: []LoopDefinition{}, Aliases: []LoopAlias{}, Endpoints: []LoopEndpoint{},
		Trainings: []LoopTraining{}, Experiments: []LoopExperiment{}}
	if len(versions) > 0 {
		st.LatestVersion = versions[0].Version
	}

	var aliases []string
	for _, d := range defs {
		if d.Model == nil {
			continue
		}
		ld := LoopDefinition{ID: d.ID, Schedule: d.Model.Schedule, Retrain: d.Model.Retrain, Promote: d.Model.Promote}
		ld.NextRun = nextFiring(ld.Schedule, now)
		if ld.Retrain != nil {
			n, since, err := c.NewFeedback(ctx, d)
			if err != nil {
				ld.FeedbackError = err.Error()
			}
			ld.NewFeedback, ld.SinceVersion = n, since
		}
		st.Definitions = append(st.Definitions, ld)
		if a := d.Model.Promote.Alias; a != "" && !slices.Contains(aliases, a) {
			aliases = append(aliases, a)
		}
		if st.Trainings, err = appendTrainings(ctx, reg, st.Trainings, d.ID); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(st.Trainings, func(a, b LoopTraining) int { return cmp.Compare(b.Job, a.Job) })
	st.Trainings = st.Trainings[:min(len(st.Trainings), LoopTrainings)]

	if err := st.readAliases(ctx, reg, aliases, len(defs) == 0); err != nil {
		return nil, err
	}
	if err := st.readEndpoints(ctx, reg); err != nil {
		return nil, err
	}
	if err := p.readLoopExperiments(ctx, reg, st); err != nil {
		return nil, err
	}
	st.Steps = st.steps()
	return st, nil
}

// nextFiring is a schedule's next firing after now (nil: no schedule, or
// one that does not parse).
func nextFiring(expr string, now time.Time) *time.Time {
	if expr == "" {
		return nil
	}
	s, err := resource.ParseSchedule(expr)
	if err != nil {
		return nil
	}
	next := s.Next(now)
	if next.IsZero() {
		return nil
	}
	next = next.UTC()
	return &next
}

// appendTrainings adds the last training jobs of a model definition.
func appendTrainings(ctx context.Context, reg registry.Store, out []LoopTraining, id resource.ID) ([]LoopTraining, error) {
	jobs, err := reg.ListJobs(ctx, &registry.ListJobsParams{Kind: coordinator.JobTrain, Resource: id, Limit: LoopTrainings})
	if err != nil {
		return nil, fmt.Errorf("reading the trainings of %s: %w", id, err)
	}
	for _, j := range jobs {
		t := LoopTraining{Job: j.ID, Definition: j.Resource, Status: j.Status, By: jobBy(j), CreatedAt: j.CreatedAt.UTC(),
			StartedAt: j.StartedAt.UTC(), EndedAt: j.EndedAt.UTC(), Error: j.Error}
		if j.Status == registry.JobQueued {
			t.Waiting = len(j.DependsOn)
		}
		if j.Status == registry.JobSucceeded && len(j.Result) > 0 {
			var res coordinator.TrainResult
			if err := json.Unmarshal(j.Result, &res); err == nil {
				t.Result = &res
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// jobBy is who queued a job, from its arguments' "by".
func jobBy(j *registry.Job) string {
	var args struct {
		By string `json:"by"`
	}
	if len(j.Args) > 0 {
		json.Unmarshal(j.Args, &args) // arguments that are not JSON name nobody
	}
	return args.By
}

// readAliases reads the named aliases (every alias of the model when all
// is set) with their last moves.
func (st *LoopStatus) readAliases(ctx context.Context, reg registry.Store, names []string, all bool) error {
	existing, err := reg.ListModelAliases(ctx, st.Model)
	if err != nil {
		return fmt.Errorf("reading the aliases of model %s: %w", st.Model, err)
	}
	if all {
		for _, a := range existing {
			names = append(names, a.Alias)
		}
	}
	for _, name := range names {
		la := LoopAlias{Alias: name, Moves: []LoopAliasMove{}}
		i := slices.IndexFunc(existing, func(a *registry.ModelAlias) bool { return a.Alias == name })
		if i >= 0 {
			a := existing[i]
			la.Version, la.UpdatedBy, la.UpdatedAt = a.Version, a.UpdatedBy, a.UpdatedAt.UTC()
			h, err := reg.ModelAliasHistory(ctx, st.Model, name)
			if err != nil {
				return fmt.Errorf("reading the moves of alias %s of model %s: %w", name, st.Model, err)
			}
			for _, m := range h[max(0, len(h)-LoopAliasMoves):] {
				la.Moves = append(la.Moves, LoopAliasMove{From: m.From, To: m.To, By: m.By, At: m.At.UTC()})
			}
		}
		st.Aliases = append(st.Aliases, la)
	}
	return nil
}

// readEndpoints finds the endpoints serving the model.
func (st *LoopStatus) readEndpoints(ctx context.Context, reg registry.Store) error {
	eps, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindEndpoint, NotDeprecated: true})
	if err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	for _, ep := range eps {
		if ep.Endpoint != nil && ep.Endpoint.Model == st.Model {
			st.Endpoints = append(st.Endpoints, LoopEndpoint{ID: ep.ID, Alias: ep.Endpoint.Alias})
		}
	}
	return nil
}

// readLoopExperiments reads the experiments with an arm of the model: the
// running ones with their report and last review, and the last ended ones.
func (p *Platform) readLoopExperiments(ctx context.Context, reg registry.Store, st *LoopStatus) error {
	all, err := reg.List(ctx, &registry.ListParams{Kind: resource.KindExperiment})
	if err != nil {
		return fmt.Errorf("listing experiments: %w", err)
	}
	var running, ended []*resource.Resource
	for _, r := range all {
		if r.Experiment == nil || !slices.ContainsFunc(r.Experiment.Arms, func(a resource.ExperimentArm) bool { return a.Model == st.Model }) {
			continue
		}
		if r.State.Deprecated == nil {
			running = append(running, r)
		} else {
			ended = append(ended, r)
		}
	}
	slices.SortFunc(running, func(a, b *resource.Resource) int { return b.State.CreatedAt.Compare(a.State.CreatedAt) })
	slices.SortFunc(ended, func(a, b *resource.Resource) int { return b.State.Deprecated.At.Compare(a.State.Deprecated.At) })
	for _, r := range append(running, ended[:min(len(ended), LoopEndedExperiments)]...) {
		spec := r.Experiment
		le := LoopExperiment{ID: r.ID, Endpoint: spec.Endpoint, State: coordinator.ExperimentState(r), Ended: r.State.Deprecated,
			AutoConclude: spec.AutoConclude, MinSamples: spec.MinSamples}
		if spec.AutoConclude {
			le.Review = cmp.Or(spec.Review, resource.DefaultExperimentReview)
		}
		jobs, err := reg.ListJobs(ctx, &registry.ListJobsParams{Kind: coordinator.JobExperimentReview, Resource: r.ID, Limit: 1})
		if err != nil {
			return fmt.Errorf("reading the reviews of %s: %w", r.ID, err)
		}
		if len(jobs) > 0 {
			j := jobs[0]
			rv := &LoopReview{Job: j.ID, Status: j.Status, CreatedAt: j.CreatedAt.UTC(), EndedAt: j.EndedAt.UTC(), Error: j.Error}
			var res coordinator.ReviewResult
			if j.Status == registry.JobSucceeded && json.Unmarshal(j.Result, &res) == nil {
				rv.Result = &res
			}
			le.LastReview = rv
		}
		if le.State == ExperimentRunning {
			le.NextReview = nextFiring(le.Review, st.At)
			rep, err := p.ExperimentReport(ctx, r.Ref())
			if err != nil {
				le.ReportError = err.Error()
			} else {
				le.Verdict, le.Winner, le.SRMFlagged = rep.Report.Verdict, rep.Report.Winner, rep.Report.SRM.Flagged
				for i, a := range rep.Report.Arms {
					la := LoopArm{Name: a.Name, N: a.N, Metric: a.Metric, P: a.P}
					if i < len(rep.Arms) {
						la.Model, la.Resolved = rep.Arms[i].Named(), rep.Arms[i].Resolved
					}
					le.Arms = append(le.Arms, la)
				}
			}
		}
		st.Experiments = append(st.Experiments, le)
	}
	return nil
}

// steps says where each step stands.
func (st *LoopStatus) steps() []LoopStep {
	var out []LoopStep
	if len(st.Definitions) == 0 {
		out = append(out, LoopStep{Step: StepTraining, State: "off",
			Summary: fmt.Sprintf("model %s has no definition: its versions are registered from files (`slipway models register`), so nothing retrains it", st.Model)})
	}
	many := len(st.Definitions) > 1
	for _, d := range st.Definitions {
		of := ""
		if many {
			of = d.ID.Ref().String() + ": "
		}
		since := "since it was registered"
		if d.SinceVersion > 0 {
			since = fmt.Sprintf("since version %d", d.SinceVersion)
		}
		switch {
		case d.Retrain == nil:
			out = append(out, LoopStep{Step: StepFeedback, State: "off", Summary: of + "no retrain policy on feedback (retrain: feedback, new_feedback)"})
		case d.FeedbackError != "":
			out = append(out, LoopStep{Step: StepFeedback, State: "unknown", Summary: fmt.Sprintf("%scannot count new %s events %s: %s", of, d.Retrain.Feedback, since, d.FeedbackError)})
		case d.NewFeedback < d.Retrain.NewFeedback:
			out = append(out, LoopStep{Step: StepFeedback, State: "collecting", Summary: fmt.Sprintf("%s%s of %s new %s events %s; it retrains at %s",
				of, textfmt.Count(d.NewFeedback), textfmt.Count(d.Retrain.NewFeedback), d.Retrain.Feedback, since, textfmt.Count(d.Retrain.NewFeedback))})
		default:
			s := LoopStep{Step: StepFeedback, State: "reached", Summary: fmt.Sprintf("%s%s of %s new %s events %s: enough to retrain",
				of, textfmt.Count(d.NewFeedback), textfmt.Count(d.Retrain.NewFeedback), d.Retrain.Feedback, since)}
			if t := st.liveTraining(d.ID); t != nil {
				s.Summary += fmt.Sprintf("; training job %d is %s", t.Job, t.Status)
				s.Job = t.Job
			} else {
				s.Summary += " (the scheduler queues one training per version at its next tick)"
			}
			out = append(out, s)
		}
		if d.Schedule != "" {
			next := "no next firing"
			if d.NextRun != nil {
				next = "next firing at " + timeText(*d.NextRun)
			}
			out = append(out, LoopStep{Step: StepSchedule, State: "scheduled", Summary: fmt.Sprintf("%sretrains on schedule %q; %s", of, d.Schedule, next)})
		}
	}
	if len(st.Definitions) > 0 {
		out = append(out, st.trainingStep(), st.validationStep())
	}
	out = append(out, st.experimentStep(), st.servingStep())
	return out
}

// liveTraining is a definition's training that is queued or running, or nil.
func (st *LoopStatus) liveTraining(id resource.ID) *LoopTraining {
	for i, t := range st.Trainings {
		if t.Definition == id && !t.Status.Ended() {
			return &st.Trainings[i]
		}
	}
	return nil
}

func (st *LoopStatus) trainingStep() LoopStep {
	if len(st.Trainings) == 0 {
		return LoopStep{Step: StepTraining, State: "none", Summary: fmt.Sprintf("no training yet (`slipway train %s` starts one)", st.Model)}
	}
	t := st.Trainings[0]
	s := LoopStep{Step: StepTraining, State: string(t.Status), Job: t.Job}
	by := ""
	if t.By != "" {
		by = ", queued by " + t.By
	}
	switch t.Status {
	case registry.JobQueued:
		s.Summary = fmt.Sprintf("job %d queued at %s%s", t.Job, timeText(t.CreatedAt), by)
		if t.Waiting > 0 {
			s.Summary += fmt.Sprintf(", after %d upstream job(s) rebuilding its inputs", t.Waiting)
		}
	case registry.JobRunning:
		s.Summary = fmt.Sprintf("job %d running since %s%s", t.Job, timeText(t.StartedAt), by)
	case registry.JobSucceeded:
		s.Summary = fmt.Sprintf("job %d succeeded at %s%s", t.Job, timeText(t.EndedAt), by)
		if t.Result != nil {
			s.Summary += fmt.Sprintf(": version %d", t.Result.Version)
		}
	default:
		s.Summary = fmt.Sprintf("job %d %s at %s%s", t.Job, t.Status, timeText(t.EndedAt), by)
		if t.Error != "" {
			s.Summary += ": " + textfmt.FirstLine(t.Error)
		}
	}
	return s
}

func (st *LoopStatus) validationStep() LoopStep {
	for _, t := range st.Trainings {
		if t.Result == nil {
			continue
		}
		r := t.Result
		s := LoopStep{Step: StepValidation, Job: t.Job, Summary: fmt.Sprintf("version %d: %s", r.Version, r.Reason)}
		switch {
		case r.Promoted:
			s.State = "promoted"
			s.Summary = fmt.Sprintf("version %d promoted to %s: %s", r.Version, r.Alias, r.Reason)
		case r.Experiment != "":
			s.State = "experiment"
		default:
			s.State = "not_promoted"
		}
		return s
	}
	return LoopStep{Step: StepValidation, State: "none", Summary: "no version validated yet"}
}

func (st *LoopStatus) experimentStep() LoopStep {
	for _, e := range st.Experiments {
		if e.State != ExperimentRunning {
			continue
		}
		s := LoopStep{Step: StepExperiment, State: ExperimentRunning}
		if e.LastReview != nil {
			s.Job = e.LastReview.Job
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s on endpoint %s", e.ID.Name, e.Endpoint.Ref())
		if e.ReportError != "" {
			fmt.Fprintf(&b, ": its report cannot be read: %s", e.ReportError)
		} else {
			var arms []string
			for _, a := range e.Arms {
				arms = append(arms, fmt.Sprintf("%s %s", a.Name, textfmt.Count(a.N)))
			}
			fmt.Fprintf(&b, ": exposures %s (min_samples %s per arm); %s", strings.Join(arms, ", "), textfmt.Count(e.MinSamples), e.Verdict)
		}
		switch {
		case e.NextReview != nil:
			fmt.Fprintf(&b, "; next review at %s", timeText(*e.NextReview))
		case !e.AutoConclude:
			fmt.Fprintf(&b, "; it ends by hand (`slipway experiments conclude|stop %s`)", e.ID.Name)
		}
		s.Summary = b.String()
		return s
	}
	s := LoopStep{Step: StepExperiment, State: "none", Summary: "none running"}
	if slices.ContainsFunc(st.Definitions, func(d LoopDefinition) bool { return d.Promote.When == resource.PromoteExperiment }) {
		s.Summary += "; a training whose version validates better starts one (promote.when: experiment)"
	}
	if len(st.Experiments) > 0 {
		e := st.Experiments[0]
		s.Summary += fmt.Sprintf("; last: %s %s at %s", e.ID.Name, e.Ended.Reason, timeText(e.Ended.At))
		if e.LastReview != nil {
			s.Job = e.LastReview.Job
		}
	}
	return s
}

func (st *LoopStatus) servingStep() LoopStep {
	s := LoopStep{Step: StepServing, State: "none"}
	var parts []string
	for _, a := range st.Aliases {
		var eps []string
		for _, ep := range st.Endpoints {
			if ep.Alias == a.Alias {
				eps = append(eps, ep.ID.Ref().String())
			}
		}
		part := a.Alias + " points at no version yet"
		if a.Version > 0 {
			s.State = "serving"
			part = fmt.Sprintf("%s -> version %d (moved at %s", a.Alias, a.Version, timeText(a.UpdatedAt))
			if a.UpdatedBy != "" {
				part += " by " + a.UpdatedBy
			}
			part += ")"
		}
		if len(eps) > 0 {
			part += "; served by endpoint " + strings.Join(eps, ", ")
		} else {
			part += "; no endpoint serves it"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		s.Summary = fmt.Sprintf("model %s has no alias (`slipway models promote %s VERSION` makes one)", st.Model, st.Model)
	} else {
		s.Summary = strings.Join(parts, "; ")
	}
	return s
}

// timeText writes a time as the CLI's tables do: 2026-12-04 22:10:03 UTC.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
