package server

// The operations endpoints: plan, apply, run, materialize, export (and the
// export's file), lineage and doctor. Each decodes its request, calls the
// platform, and encodes the answer; routes are registered, and errors
// become status codes, in server.go.

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/slipway-ml/slipway/definition"
	"github.com/slipway-ml/slipway/platform"
	"github.com/slipway-ml/slipway/resource"
)

// decodeFiles reads the body of POST /v1/plan and /v1/apply.
func decodeFiles(r *http.Request) (*definition.Files, error) {
	if err := checkQuery(r.URL.Query()); err != nil {
		return nil, err
	}
	var df definition.Files
	if err := decode(r, &df); err != nil {
		return nil, err
	}
	// Files that cannot be loaded at all are the platform's to refuse
	// (definition.Files.Check, an invalid request).
	return &df, nil
}

// writeTimeout is the server's write timeout, for handlers that move their
// write deadline.
func (s *server) writeTimeout() time.Duration {
	return or(s.WriteTimeout, DefaultWriteTimeout)
}

// whileWorking lifts the write deadline while a long operation (plan,
// apply) runs, since the time is the server's, not the client's; done sets
// a deadline of one write timeout for the answer. Where the connection
// takes no deadlines (tests' recorders) both do nothing.
func (s *server) whileWorking(w http.ResponseWriter) (done func()) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	return func() { rc.SetWriteDeadline(time.Now().Add(s.writeTimeout())) }
}

func (s *server) plan(w http.ResponseWriter, r *http.Request) {
	df, err := decodeFiles(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done := s.whileWorking(w)
	res, err := s.Platform.Plan(r.Context(), df)
	done()
	if err != nil && !(res != nil && isDefinitionError(err)) {
		s.fail(w, r, err)
		return
	}
	// Definition problems are the plan's answer: its errors.
	writeJSON(w, http.StatusOK, res)
}

func (s *server) apply(w http.ResponseWriter, r *http.Request) {
	df, err := decodeFiles(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done := s.whileWorking(w)
	res, err := s.Platform.Apply(r.Context(), df)
	done()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// RunRequest is the body of POST /v1/run. Transformations are
// "name[:variant]" strings (the kind is the endpoint's); none means all,
// unless batch predictions are named.
type RunRequest struct {
	Transformations []string `json:"transformations,omitempty"`
	// BatchPredictions are "name[:variant]" strings of batch predictions to run.
	BatchPredictions []string `json:"batch_predictions,omitempty"`
	Rebuild          bool     `json:"rebuild,omitempty"`
	Detach           bool     `json:"detach,omitempty"`
}

// MaterializeRequest is the body of POST /v1/materialize. Features are
// "name[:variant]" strings; none means every feature.
type MaterializeRequest struct {
	Features []string `json:"features,omitempty"`
	Full     bool     `json:"full,omitempty"`
	Chunks   int      `json:"chunks,omitempty"`
	Detach   bool     `json:"detach,omitempty"`
}

// ExportRequest is the (optional) body of POST /v1/training-sets/{ref}/export.
type ExportRequest struct {
	// Format is parquet, csv or jsonl; empty means the offline store's
	// preferred one. The file stays on the server until GET
	// /v1/jobs/{id}/output fetches it.
	Format string `json:"format,omitempty"`
	// Encoded writes the model-ready matrix (csv) and its schema file,
	// fetched with GET /v1/jobs/{id}/schema before the file itself.
	Encoded bool `json:"encoded,omitempty"`
}

// parseRefs reads a list of "name[:variant]" strings as IDs of kind.
func parseRefs(field string, kind resource.Kind, refs []string) ([]resource.ID, error) {
	var out []resource.ID
	for i, s := range refs {
		ref, err := resource.ParseRef(s)
		if err != nil {
			return nil, invalid("%s[%d]: %v", field, i, err)
		}
		out = append(out, resource.NewID(kind, ref))
	}
	return out, nil
}

func (s *server) run(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	err := checkQuery(r.URL.Query())
	if err == nil {
		err = decodeOptional(r, &req)
	}
	var ids, bps []resource.ID
	if err == nil {
		ids, err = parseRefs("transformations", resource.KindTransformation, req.Transformations)
	}
	if err == nil {
		bps, err = parseRefs("batch_predictions", resource.KindBatchPrediction, req.BatchPredictions)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Platform.Run(r.Context(), &platform.RunParams{Transformations: ids, BatchPredictions: bps, Rebuild: req.Rebuild, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

func (s *server) materialize(w http.ResponseWriter, r *http.Request) {
	var req MaterializeRequest
	err := checkQuery(r.URL.Query())
	if err == nil {
		err = decodeOptional(r, &req)
	}
	var ids []resource.ID
	if err == nil {
		ids, err = parseRefs("features", resource.KindFeature, req.Features)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.Platform.Materialize(r.Context(), &platform.MaterializeParams{Features: ids, Full: req.Full, Chunks: req.Chunks, Detach: req.Detach})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

func (s *server) export(w http.ResponseWriter, r *http.Request) {
	ref, err := resource.ParseRef(r.PathValue("ref"))
	if err != nil {
		err = invalid("%v", err)
	}
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req ExportRequest
	if err == nil {
		err = decodeOptional(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Never a path from the client: the file is written on the server and
	// fetched with GET /v1/jobs/{id}/output.
	jobs, err := s.Platform.Export(r.Context(), &platform.ExportParams{TrainingSet: resource.NewID(resource.KindTrainingSet, ref), Format: req.Format, Encoded: req.Encoded})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.jobsBody(r, jobs))
}

// contentTypes are the media types of the export formats.
var contentTypes = map[string]string{
	"csv":     "text/csv; charset=utf-8",
	"jsonl":   "application/x-ndjson",
	"parquet": "application/vnd.apache.parquet",
}

// copyChunk is how much of an export is written between two extensions of
// the write deadline.
const copyChunk = 1 << 20

// jobOutput streams the file of a succeeded export job, once: the file is
// removed when the response ends. The write deadline moves forward with
// each chunk, so a large file streams for as long as the client reads it,
// while a client that stops reading is cut off after one write timeout.
func (s *server) jobOutput(w http.ResponseWriter, r *http.Request) {
	id, err := pathJobID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	if err == nil && r.Method == http.MethodHead {
		// A HEAD would use the file up like a GET.
		w.Header().Set("Allow", http.MethodGet)
		err = fmt.Errorf("%w: HEAD %s: the file is fetched once, with GET", errMethod, r.URL.Path)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.Platform.ExportFile(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	ct, name := "application/octet-stream", "export-"+strconv.FormatInt(id, 10)
	if n, ok := f.(interface{ Name() string }); ok {
		name = filepath.Base(n.Name())
		if t, ok := contentTypes[platform.FormatOf(name)]; ok {
			ct = t
		}
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	if st, ok := f.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		}
	}
	w.WriteHeader(http.StatusOK)
	s.stream(w, r, f, "export output of job "+strconv.FormatInt(id, 10))
}

// stream writes src as the body of a response whose headers are written.
// The write deadline moves forward with each chunk, so a large body
// streams for as long as the client reads it, while a client that stops
// reading is cut off after one write timeout.
func (s *server) stream(w http.ResponseWriter, r *http.Request, src io.Reader, what string) {
	rc := http.NewResponseController(w)
	buf := make([]byte, copyChunk)
	for {
		rc.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				// The client went away or stopped reading; the log line
				// shows the bytes that were sent.
				s.Logger.Warn(what+" cut off", "request_id", RequestID(r.Context()), "error", err)
				return
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return
		}
		if rerr != nil {
			// Too late for an error body: ending the response early
			// (without the promised length) tells the client.
			s.Logger.Error("reading "+what, "request_id", RequestID(r.Context()), "error", rerr)
			panic(http.ErrAbortHandler)
		}
	}
}

func (s *server) lineage(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathID, s.Platform.Lineage, func(l *platform.Lineage) any { return l })
}

func (s *server) doctor(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Platform.Doctor(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
