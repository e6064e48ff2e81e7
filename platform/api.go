package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/feedback"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// API is every operation, as the CLI uses it: a *Platform on the stores, or
// the HTTP client (client.Client) on a running server. Both give the same
// results and the same errors, so the CLI prints the same either way.
type API interface {
	// Plan says what Apply would do with the definitions, writing nothing.
	// Definition problems are returned both in the result's Errors and as
	// a definition.Errors error.
	Plan(ctx context.Context, defs *definition.Files) (*PlanResult, error)
	// Apply registers the definitions' new resources, all or nothing. A
	// plan with conflicts is refused with a *ConflictError.
	Apply(ctx context.Context, defs *definition.Files) (*ApplyResult, error)
	// Run queues builds of transformations (with what they need upstream)
	// and runs of batch predictions;
	// Materialize writes features' values as of now to the online store;
	// Export writes a training set to a file; RetryJob queues a failed or
	// cancelled job again with the jobs it ended. Each returns the jobs it
	// queued, which the platform works until they end unless Detach leaves
	// them to workers: follow them with GetJob and JobLogs.
	Run(ctx context.Context, p *RunParams) ([]*registry.Job, error)
	Materialize(ctx context.Context, p *MaterializeParams) ([]*registry.Job, error)
	Export(ctx context.Context, p *ExportParams) ([]*registry.Job, error)
	// ExportFile reads the file of a succeeded export job queued with no
	// Path; closing it removes the file.
	ExportFile(ctx context.Context, job int64) (io.ReadCloser, error)
	// ExportSchema reads the schema file of a succeeded encoded export job
	// queued with no Path; call it before ExportFile.
	ExportSchema(ctx context.Context, job int64) ([]byte, error)

	// Train queues the training of a model definition (see Run for the
	// jobs); the training job's Result is a coordinator.TrainResult.
	Train(ctx context.Context, p *TrainParams) ([]*registry.Job, error)
	// RegisterModel validates a model trained elsewhere and records it as
	// a new version; PromoteModel and RollbackModel move an alias.
	RegisterModel(ctx context.Context, p *RegisterModelParams) (*registry.ModelVersion, error)
	PromoteModel(ctx context.Context, p *PromoteParams) (*registry.ModelAlias, error)
	RollbackModel(ctx context.Context, p *RollbackParams) (*registry.ModelAlias, error)
	// ListModels, ShowModel and GetModelVersion (with its artifact) read
	// the models, their versions and aliases.
	ListModels(ctx context.Context) ([]*ModelSummary, error)
	ShowModel(ctx context.Context, name string) (*ModelDetail, error)
	GetModelVersion(ctx context.Context, ref ModelRef) (*registry.ModelVersion, error)
	// ModelProfile reads the baseline profile recorded with a version:
	// its training rows' features and its predictions on the holdout.
	ModelProfile(ctx context.Context, ref ModelRef) (*ModelProfile, error)
	// Skew queues a measurement of a model's train/serve skew; its job's
	// Result is a coordinator.SkewReport.
	Skew(ctx context.Context, p *SkewParams) ([]*registry.Job, error)

	// RecordFeedback validates feedback events about predictions and
	// records them (durably, before it returns); they reach the offline
	// store's source feedback within a ship interval. An invalid event
	// refuses the whole call (ErrInvalid, naming it).
	RecordFeedback(ctx context.Context, events []feedback.Event) (*feedback.Accepted, error)
	// FeedbackStatus counts the feedback in the offline store by name,
	// matched and unmatched to logged predictions.
	FeedbackStatus(ctx context.Context) (*feedback.Status, error)

	// ExperimentReport reads an experiment's state, its arms' versions and
	// its statistics with a verdict. ConcludeExperiment ends it with a
	// winner, moving the endpoint's alias to the winner's version;
	// StopExperiment ends it without a change. Both refuse an ended
	// experiment (ErrEnded).
	ExperimentReport(ctx context.Context, ref resource.Ref) (*ExperimentReport, error)
	ConcludeExperiment(ctx context.Context, p *ConcludeExperimentParams) (*ConcludeResult, error)
	StopExperiment(ctx context.Context, p *StopExperimentParams) (*resource.Resource, error)

	// LoopStatus reads where each step of a model's feedback loop stands:
	// new feedback against its retrain policy, its schedule, its last
	// trainings and what validation decided, the experiment testing a new
	// version, and the alias its endpoints serve, each with the job to
	// look at. A model neither defined nor registered is not found.
	LoopStatus(ctx context.Context, model string) (*LoopStatus, error)

	// Freshness reports per feature the newest event time online, the
	// last successful materialization and its age, and whether a scheduled
	// run is overdue: stale past max_age or past a firing plus grace.
	Freshness(ctx context.Context, p *FreshnessParams) (*FreshnessReport, error)

	// RunMonitor queues a run of a monitor now (see Run for the jobs); its
	// job's Result is a coordinator.MonitorRunResult. MonitorReport reads
	// the latest state of each of a monitor's checks and subjects, since
	// when, and the history of its runs.
	RunMonitor(ctx context.Context, p *MonitorRunParams) ([]*registry.Job, error)
	MonitorReport(ctx context.Context, p *MonitorReportParams) (*MonitorReport, error)

	// List returns registered resources; Show one resource (a deleted one
	// as its tombstone) with what depends on it; Lineage everything it
	// depends on and everything that uses it, transitively.
	List(ctx context.Context, p *registry.ListParams) ([]*resource.Resource, error)
	Show(ctx context.Context, id resource.ID) (*Shown, error)
	Lineage(ctx context.Context, id resource.ID) (*Lineage, error)
	Deprecate(ctx context.Context, p *registry.DeprecateParams) (*resource.Resource, error)
	Delete(ctx context.Context, p *registry.DeleteParams) (*coordinator.DeleteResult, error)

	ListJobs(ctx context.Context, p *registry.ListJobsParams) ([]*registry.Job, error)
	GetJob(ctx context.Context, id int64) (*registry.Job, error)
	JobLogs(ctx context.Context, p *registry.JobLogsParams) ([]registry.JobLogLine, error)
	RetryJob(ctx context.Context, p *RetryJobParams) ([]*registry.Job, error)
	CancelJob(ctx context.Context, id int64) (*registry.Job, error)

	// Predict answers a live prediction request: the version the
	// endpoint's alias points at, on the entities' online features
	// (serving.Endpoints.Predict), with its errors.
	Predict(ctx context.Context, req *serving.PredictRequest) (*serving.PredictResponse, error)

	// Doctor checks every configured provider.
	Doctor(ctx context.Context) (*DoctorReport, error)
	Close() error
}

var _ API = (*Platform)(nil)

// PlanResult is a plan as every client shows it ('slipway plan --json'
// prints it): each definition with what apply would do, the warnings, and
// the errors that stop it.
type PlanResult struct {
	Items    []PlanItem `json:"items"`
	Warnings []Problem  `json:"warnings"`
	Errors   []Problem  `json:"errors"`
}

// PlanItem is one definition of a plan.
type PlanItem struct {
	// Action is create, unchanged or conflict.
	Action definition.Action `json:"action"`
	Kind   resource.Kind     `json:"kind"`
	// ID is the resource's name:variant.
	ID string `json:"id"`
	// File and Line are where it is defined.
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Diffs are the changed fields of a conflict.
	Diffs []resource.FieldDiff `json:"diffs,omitempty"`
}

// Problem is a problem in the definitions, with where it is.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Problems shows definition errors.
func Problems(es definition.Errors) []Problem {
	out := make([]Problem, len(es))
	for i, e := range es {
		out[i] = Problem{File: e.Pos.File, Line: e.Pos.Line, Field: e.Field, Message: e.Msg}
	}
	return out
}

// DefinitionErrors turns problems back into the error the definitions gave.
func DefinitionErrors(ps []Problem) definition.Errors {
	out := make(definition.Errors, len(ps))
	for i, p := range ps {
		out[i] = &definition.Error{Pos: definition.Pos{File: p.File, Line: p.Line}, Field: p.Field, Msg: p.Message}
	}
	return out
}

// Conflicts returns the items apply would refuse.
func (r *PlanResult) Conflicts() []PlanItem {
	var out []PlanItem
	for _, it := range r.Items {
		if it.Action == definition.Conflict {
			out = append(out, it)
		}
	}
	return out
}

func newPlanResult(plan *definition.Plan) *PlanResult {
	out := &PlanResult{Items: []PlanItem{}, Warnings: Problems(plan.Warnings), Errors: []Problem{}}
	for _, it := range plan.Items {
		out.Items = append(out.Items, PlanItem{Action: it.Action, Kind: it.Resource.Kind, ID: it.Resource.Ref().String(),
			File: it.Def.Pos.File, Line: it.Def.Pos.Line, Diffs: it.Diffs})
	}
	return out
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	Plan      *PlanResult `json:"plan"`
	Created   int         `json:"created"`
	Unchanged int         `json:"unchanged"`
}

// ConflictError refuses a plan with conflicts: registered variants never
// change. Clients show the plan (with its diffs) before the error.
type ConflictError struct {
	// What was refused: "nothing applied", "apply would be refused".
	What string
	Plan *PlanResult
}

func (e *ConflictError) Error() string {
	cs := e.Plan.Conflicts()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d conflict(s), changes shown above", e.What, len(cs))
	for _, it := range cs {
		fmt.Fprintf(&b, "\n  %s: %s %s is already registered with a different definition", definition.Pos{File: it.File, Line: it.Line}, it.Kind, it.ID)
	}
	if len(cs) > 0 {
		name, _, _ := strings.Cut(cs[0].ID, ":")
		fmt.Fprintf(&b, "\nregistered variants never change: give each changed definition a new variant (for example %s:v2)", name)
	}
	return b.String()
}

// Is makes a *ConflictError an ErrConflict for errors.Is.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrConflict is what a refused apply (a *ConflictError) is.
var ErrConflict = errors.New("definitions conflict with registered resources")

// RunParams select transformations to build and batch predictions to run.
type RunParams struct {
	// Transformations to build (with any upstream transformation that is
	// not ready); empty means all, unless BatchPredictions names some.
	Transformations []resource.ID `json:"transformations,omitempty"`
	// BatchPredictions to run now (after the builds of what they read that
	// is not ready, or all of it with Rebuild). The job's Result is a
	// coordinator.BatchPredictResult.
	BatchPredictions []resource.ID `json:"batch_predictions,omitempty"`
	// Rebuild builds the selected ones even when they are ready.
	Rebuild bool `json:"rebuild,omitempty"`
	// Detach queues the jobs and leaves them to workers.
	Detach bool `json:"detach,omitempty"`
}

// MaterializeParams select features to materialize.
type MaterializeParams struct {
	// Features to materialize; empty means every feature.
	Features []resource.ID `json:"features,omitempty"`
	// Full reads every row, ignoring the watermarks.
	Full bool `json:"full,omitempty"`
	// Chunks splits the entities of each source the features read into this
	// many jobs (1 to MaxChunks; 0 means 1).
	Chunks int  `json:"chunks,omitempty"`
	Detach bool `json:"detach,omitempty"`
}

// MaxChunks bounds MaterializeParams.Chunks: each chunk is a job, and each
// reads the source.
const MaxChunks = 1000

// ExportParams say which training set to export, how and where.
type ExportParams struct {
	TrainingSet resource.ID `json:"training_set"`
	// Format is one the offline store writes (ExportFormats); empty means
	// the one Path's extension names, else the store's preferred one.
	Format string `json:"format,omitempty"`
	// Path is the file to write on the platform's machine; empty means a
	// temporary file, read back with ExportFile. Over HTTP it is always
	// empty: the client receives the file.
	Path string `json:"-"`
	// Encoded writes the model-ready matrix (csv: entity, timestamp, label,
	// then the encoded feature columns) and its schema file (read back with
	// ExportSchema; next to Path as coordinator.SchemaPath names it).
	Encoded bool `json:"encoded,omitempty"`
}

// RetryJobParams name the job to retry.
type RetryJobParams struct {
	ID     int64 `json:"-"`
	Detach bool  `json:"detach,omitempty"`
}

// Shown is one resource with the resources that depend on it.
type Shown struct {
	Resource   *resource.Resource
	Dependents []resource.ID
}

// Lineage is a resource's graph: every resource it depends on (upstream)
// and every resource that uses it (downstream), transitively, as edges
// from a resource to one that uses it.
type Lineage struct {
	ID         resource.ID `json:"id"`
	Upstream   []Edge      `json:"upstream"`
	Downstream []Edge      `json:"downstream"`
	// ModelVersions are the model versions trained on the resource (a
	// training set) or on a training set that uses it, and, for a model,
	// its versions: oldest first per model.
	ModelVersions []VersionEdge `json:"model_versions"`
}

// VersionEdge says a version of a model was trained on a training set.
type VersionEdge struct {
	TrainingSet resource.ID `json:"training_set"`
	Model       string      `json:"model"`
	Version     int         `json:"version"`
	// Aliases are the aliases pointing at the version now.
	Aliases []string `json:"aliases"`
}

// Edge says To uses From.
type Edge struct {
	From resource.ID `json:"from"`
	To   resource.ID `json:"to"`
}

// DoctorReport is what Doctor found ('slipway doctor --json' prints it).
type DoctorReport struct {
	Config  string        `json:"config"`
	DataDir string        `json:"data_dir"`
	Checks  []DoctorCheck `json:"checks"`
}

// DoctorCheck is the check of one provider.
type DoctorCheck struct {
	Role     string `json:"role"`
	Provider string `json:"provider"`
	OK       bool   `json:"ok"`
	Version  string `json:"version,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Failed counts the checks that failed.
func (r *DoctorReport) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}
