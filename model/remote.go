package model

// External models: a model version of format oip-v2 is not a model file but
// a small JSON document naming a model served elsewhere (KServe, MLServer,
// Triton) that speaks the Open Inference Protocol v2. Slipway still builds
// the input: the version's encoding turns feature values into the vector,
// and Remote sends the vectors of a batch in one infer request and reads
// the answer back. docs/design/models.md ("External models (oip-v2)")
// documents the document and the wire format.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FormatOIPV2 is the format of an external model: the artifact is a JSON
// document (see [ParseRemote]) naming an Open Inference Protocol v2 model.
const FormatOIPV2 = "oip-v2"

// Defaults of the oip-v2 document.
const (
	// DefaultRemoteTimeout bounds one infer call when the document names none.
	DefaultRemoteTimeout = 2 * time.Second
	// DefaultRemoteInput names the input tensor when the document names
	// none (Triton's name for a model's first input).
	DefaultRemoteInput = "input__0"
)

// maxRemoteAnswer bounds the body of an infer answer that is read.
const maxRemoteAnswer = 64 << 20

// ErrRemote marks a failed call to an external model: it timed out, could
// not be reached, answered an HTTP error or an answer that is not the
// predictions asked for. errors.As finds the *RemoteError with the kind.
var ErrRemote = errors.New("external model failed")

// ErrRemoteTimeout marks an external model that did not answer in time
// (errors.Is(err, ErrRemote) holds too).
var ErrRemoteTimeout = errors.New("external model timed out")

// RemoteErrorKind says how a call to an external model failed.
type RemoteErrorKind string

// The ways a call to an external model fails.
const (
	// RemoteTimeout: no answer within the timeout (or the request's deadline).
	RemoteTimeout RemoteErrorKind = "timeout"
	// RemoteUnreachable: the connection failed (refused, reset, DNS).
	RemoteUnreachable RemoteErrorKind = "unreachable"
	// RemoteStatus: an answer other than 200 OK.
	RemoteStatus RemoteErrorKind = "status"
	// RemoteBadAnswer: a 200 OK whose body is not the predictions asked
	// for (not JSON, no such output, a wrong shape, a value out of range).
	RemoteBadAnswer RemoteErrorKind = "bad_answer"
)

// RemoteError is a failed call to an external model.
type RemoteError struct {
	Kind RemoteErrorKind
	// URL is the model's URL, without any user:password.
	URL string
	// Status is the HTTP status of a RemoteStatus answer.
	Status int
	// Msg says what went wrong.
	Msg string
}

func (e *RemoteError) Error() string { return "external model " + e.URL + ": " + e.Msg }

// Is makes every RemoteError an ErrRemote, and a timeout an ErrRemoteTimeout.
func (e *RemoteError) Is(target error) bool {
	return target == ErrRemote || (target == ErrRemoteTimeout && e.Kind == RemoteTimeout)
}

// RemoteSpec is the oip-v2 document, the artifact of an external model:
//
//	{"url": "http://models.internal:8080/v2/models/purchase", "task": "binary_classification",
//	 "features": 8, "timeout": "2s", "input": "input__0", "output": "prediction"}
type RemoteSpec struct {
	// URL is the model's OIP v2 URL, http(s)://HOST/…/v2/models/NAME or
	// …/v2/models/NAME/versions/VERSION; infer requests go to URL + "/infer".
	URL string `json:"url"`
	// Task is the task the model predicts for (one of Tasks).
	Task string `json:"task"`
	// Features is the length of the encoded vector the model reads: the
	// training set's encoding width.
	Features int `json:"features"`
	// Classes is a multiclass model's class count (2 or more); only for
	// task multiclass.
	Classes int `json:"classes,omitempty"`
	// Timeout bounds one infer call, as a Go duration ("500ms", "2s");
	// DefaultRemoteTimeout when empty.
	Timeout string `json:"timeout,omitempty"`
	// Input names the input tensor (DefaultRemoteInput when empty).
	Input string `json:"input,omitempty"`
	// Output names the output tensor to read; when empty, the answer must
	// have exactly one output.
	Output string `json:"output,omitempty"`
	// Missing is the number sent for a missing value; when absent, a
	// missing value is sent as null.
	Missing *float64 `json:"missing,omitempty"`
}

// Remote is an external model: a Predictor whose predictions come from an
// Open Inference Protocol v2 server. It is immutable and safe for
// concurrent use; every call is one HTTP request.
type Remote struct {
	spec     RemoteSpec
	infer    string // the infer URL
	shown    string // the URL as errors show it
	timeout  time.Duration
	input    string
	outputs  int
	missing  []byte // the JSON of a missing value
	reqOuts  []byte // the request's "outputs" member, or nil
	nameJSON []byte // the input's name as a JSON string
}

var _ ContextPredictor = (*Remote)(nil)

// remoteClient is shared by every Remote, so connections to a model server
// are reused across model versions and loads.
var remoteClient = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}()}

var modelPath = regexp.MustCompile(`/v2/models/[^/]+(/versions/[^/]+)?$`)

// ParseRemote reads and checks an oip-v2 document. Errors name the field
// and say what it should be.
func ParseRemote(data []byte) (*Remote, error) {
	var s RemoteSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("the oip-v2 document is not valid: %v; write a JSON object such as "+
			`{"url": "http://host:8080/v2/models/NAME", "task": "binary_classification", "features": 8}`, err)
	}
	if dec.More() {
		return nil, errors.New("the oip-v2 document has more than one JSON value: write one object")
	}
	r := &Remote{spec: s, timeout: DefaultRemoteTimeout, input: s.Input, outputs: 1, missing: []byte("null")}
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		return nil, errors.New(`the oip-v2 document has no "url": give the model's URL, like http://host:8080/v2/models/NAME`)
	case err != nil:
		return nil, fmt.Errorf(`the oip-v2 document's "url": %v`, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf(`the oip-v2 document's "url" %q is not an http:// or https:// URL with a host`, s.URL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf(`the oip-v2 document's "url" %q has a query or fragment: give the model's URL, like http://host:8080/v2/models/NAME`, s.URL)
	case strings.HasSuffix(u.Path, "/infer"):
		return nil, fmt.Errorf(`the oip-v2 document's "url" %q ends with /infer: give the model's URL without it (Slipway adds /infer)`, s.URL)
	case !modelPath.MatchString(strings.TrimSuffix(u.Path, "/")):
		return nil, fmt.Errorf(`the oip-v2 document's "url" %q is not an OIP v2 model URL: its path must end with /v2/models/NAME or /v2/models/NAME/versions/VERSION`, s.URL)
	}
	r.infer = strings.TrimSuffix(s.URL, "/") + "/infer"
	r.shown = u.Redacted()
	if err := CheckTask(s.Task); err != nil {
		return nil, fmt.Errorf(`the oip-v2 document's "task": %w`, err)
	}
	if s.Features < 1 {
		return nil, fmt.Errorf(`the oip-v2 document's "features" is %d: give the length of the encoded vector the model reads (the width of the training set's encoding; the columns of `+"`slipway training-set export NAME --encoded`"+`)`, s.Features)
	}
	switch {
	case s.Task == TaskMulticlass && s.Classes < 2:
		return nil, fmt.Errorf(`the oip-v2 document's "classes" is %d: a multiclass model needs its class count, 2 or more`, s.Classes)
	case s.Task == TaskMulticlass:
		r.outputs = s.Classes
	case s.Classes != 0:
		return nil, fmt.Errorf(`the oip-v2 document has "classes" for a %s model: only a multiclass model has them`, s.Task)
	}
	if s.Timeout != "" {
		if r.timeout, err = time.ParseDuration(s.Timeout); err != nil || r.timeout <= 0 {
			return nil, fmt.Errorf(`the oip-v2 document's "timeout" %q is not a positive duration: write one like "500ms" or "2s"`, s.Timeout)
		}
	}
	if r.input == "" {
		r.input = DefaultRemoteInput
	}
	r.nameJSON, _ = json.Marshal(r.input)
	if s.Output != "" {
		name, _ := json.Marshal(s.Output)
		r.reqOuts = append(append([]byte(`,"outputs":[{"name":`), name...), "}]"...)
	}
	if s.Missing != nil {
		if math.IsNaN(*s.Missing) || math.IsInf(*s.Missing, 0) {
			return nil, errors.New(`the oip-v2 document's "missing" must be a finite number, or absent to send null`)
		}
		r.missing = strconv.AppendFloat(nil, *s.Missing, 'g', -1, 64)
	}
	return r, nil
}

// Spec is the model's document.
func (r *Remote) Spec() RemoteSpec { return r.spec }

// NumFeatures is the document's "features".
func (r *Remote) NumFeatures() int { return r.spec.Features }

// NumOutputs is 1, or the class count of a multiclass model.
func (r *Remote) NumOutputs() int { return r.outputs }

// Task is the document's "task".
func (r *Remote) Task() string { return r.spec.Task }

// Predict scores one vector with PredictRows.
func (r *Remote) Predict(features, out []float64) ([]float64, error) {
	return r.PredictRows(features, out)
}

// PredictRows scores rows with PredictRowsContext, bounded by the timeout alone.
func (r *Remote) PredictRows(x, out []float64) ([]float64, error) {
	return r.PredictRowsContext(context.Background(), x, out)
}

// PredictRowsContext sends the rows in one infer request, bounded by ctx
// and the document's timeout, and returns NumOutputs values per row. A
// call that fails is a *RemoteError (or ctx's error when ctx was
// cancelled).
func (r *Remote) PredictRowsContext(ctx context.Context, x, out []float64) ([]float64, error) {
	nf := r.spec.Features
	if len(x)%nf != 0 {
		return nil, fmt.Errorf("%d values are not whole rows of the external model's %d features", len(x), nf)
	}
	n := len(x) / nf
	if n == 0 {
		return out[:0], nil
	}
	body := r.request(x, n)
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, r.infer, bytes.NewReader(body))
	if err != nil {
		return nil, r.fail(RemoteUnreachable, "%v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := remoteClient.Do(req)
	if err != nil {
		return nil, r.callError(ctx, cctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRemoteAnswer+1))
	if err != nil {
		return nil, r.callError(ctx, cctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := r.fail(RemoteStatus, "answered HTTP %d%s", resp.StatusCode, remoteMessage(b))
		e.Status = resp.StatusCode
		return nil, e
	}
	if len(b) > maxRemoteAnswer {
		return nil, r.fail(RemoteBadAnswer, "answered more than %d MiB for %d rows", maxRemoteAnswer>>20, n)
	}
	return r.read(b, n, out)
}

// request writes the infer request of n rows: one FP64 tensor of shape
// [n, features], flat, with missing values (NaN) as r.missing and ±Inf as
// ±MaxFloat64 (JSON has neither).
func (r *Remote) request(x []float64, n int) []byte {
	b := make([]byte, 0, 64+len(x)*20)
	b = append(b, `{"inputs":[{"name":`...)
	b = append(b, r.nameJSON...)
	b = append(b, `,"shape":[`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.spec.Features), 10)
	b = append(b, `],"datatype":"FP64","data":[`...)
	for i, v := range x {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case math.IsNaN(v):
			b = append(b, r.missing...)
		case math.IsInf(v, 0):
			b = strconv.AppendFloat(b, math.Copysign(math.MaxFloat64, v), 'g', -1, 64)
		default:
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	b = append(b, "]}]"...)
	b = append(b, r.reqOuts...)
	return append(b, '}')
}

// callError classifies a failed round trip: a timeout when the call's
// deadline passed, ctx's own error when the caller gave up, else unreachable.
func (r *Remote) callError(ctx, cctx context.Context, err error) error {
	switch {
	case ctx.Err() == context.Canceled:
		return fmt.Errorf("calling external model %s: %w", r.shown, ctx.Err())
	case ctx.Err() == context.DeadlineExceeded:
		return r.fail(RemoteTimeout, "did not answer before the request's deadline")
	case cctx.Err() != nil:
		return r.fail(RemoteTimeout, "did not answer within %s (the \"timeout\" of its oip-v2 document)", r.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in the message already
	}
	return r.fail(RemoteUnreachable, "cannot be reached: %v", err)
}

func (r *Remote) fail(kind RemoteErrorKind, format string, args ...any) *RemoteError {
	return &RemoteError{Kind: kind, URL: r.shown, Msg: fmt.Sprintf(format, args...)}
}

// remoteMessage is the error an error answer carries, briefly: the
// protocol's {"error": "..."}, or the start of the body.
func remoteMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if msg == "" {
		return ""
	}
	return ": " + clip(msg, 300)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// remoteAnswer is the part of an $inference_response read.
type remoteAnswer struct {
	Outputs []struct {
		Name     string          `json:"name"`
		Shape    []int64         `json:"shape"`
		Datatype string          `json:"datatype"`
		Data     json.RawMessage `json:"data"`
	} `json:"outputs"`
}

var numericTypes = map[string]bool{"FP16": true, "FP32": true, "FP64": true, "INT8": true, "INT16": true, "INT32": true, "INT64": true,
	"UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true}

// read maps an answer to NumOutputs values per row: an output of shape
// [n] or [n, 1] for one value per row, [n, K] for K classes; [n, 2] of a
// binary classifier is read as class probabilities, class 1 second.
func (r *Remote) read(b []byte, n int, out []float64) ([]float64, error) {
	var a remoteAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, r.fail(RemoteBadAnswer, "answered a body that is not an OIP v2 inference response (%v): %q", err, clip(string(b), 100))
	}
	names := make([]string, len(a.Outputs))
	for i, o := range a.Outputs {
		names[i] = o.Name
	}
	pick := -1
	for i, o := range a.Outputs {
		if r.spec.Output == "" || o.Name == r.spec.Output {
			if pick >= 0 {
				return nil, r.fail(RemoteBadAnswer, "answered %d outputs (%s): name the one to read in the oip-v2 document's \"output\"", len(a.Outputs), strings.Join(names, ", "))
			}
			pick = i
		}
	}
	if pick < 0 {
		if r.spec.Output == "" {
			return nil, r.fail(RemoteBadAnswer, "answered no outputs")
		}
		return nil, r.fail(RemoteBadAnswer, "answered no output %q (its outputs: %s)", r.spec.Output, strings.Join(names, ", "))
	}
	o := a.Outputs[pick]
	if !numericTypes[o.Datatype] {
		return nil, r.fail(RemoteBadAnswer, "answered output %q as %q: want a number type (FP64, FP32, INT64, …)", o.Name, o.Datatype)
	}
	size := int64(1)
	for _, d := range o.Shape {
		if d < 0 || (d > 0 && size > math.MaxInt32/d) {
			size = -1
			break
		}
		size *= d
	}
	k := r.outputs
	binaryPair := r.spec.Task == TaskBinaryClassification && size == int64(2*n) && len(o.Shape) == 2
	if len(o.Shape) == 0 || o.Shape[0] != int64(n) || (size != int64(n*k) && !binaryPair) {
		want := fmt.Sprintf("[%d, %d]", n, k)
		if k == 1 {
			want = fmt.Sprintf("[%d] or [%d, 1]", n, n)
		}
		return nil, r.fail(RemoteBadAnswer, "answered output %q with shape %v for %d rows: want %s", o.Name, o.Shape, n, want)
	}
	vals, err := flatNumbers(o.Data, int(size))
	if err != nil {
		return nil, r.fail(RemoteBadAnswer, "answered output %q with data that %v", o.Name, err)
	}
	if len(vals) != int(size) {
		return nil, r.fail(RemoteBadAnswer, "answered output %q with %d values for shape %v", o.Name, len(vals), o.Shape)
	}
	if binaryPair {
		for i := range n {
			vals[i] = vals[2*i+1]
		}
		vals = vals[:n]
	}
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, r.fail(RemoteBadAnswer, "answered %v for row %d", v, i/k)
		}
		if r.spec.Task != TaskRegression && (v < 0 || v > 1) {
			return nil, r.fail(RemoteBadAnswer, "answered %v for row %d: a %s model answers probabilities, from 0 to 1", v, i/k, r.spec.Task)
		}
	}
	if cap(out) >= len(vals) {
		out = out[:len(vals)]
	} else {
		out = make([]float64, len(vals))
	}
	copy(out, vals)
	return out, nil
}

// flatNumbers reads a tensor's data, flat or nested, as numbers in
// row-major order; a null or a non-number is an error.
func flatNumbers(raw json.RawMessage, size int) ([]float64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := make([]float64, 0, size)
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("is not JSON: %v", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '[' {
				depth++
			} else if t == ']' {
				depth--
			} else {
				return nil, errors.New("holds an object: want numbers")
			}
		case json.Number:
			if depth == 0 {
				return nil, errors.New("is not an array")
			}
			f, err := t.Float64()
			if err != nil {
				return nil, fmt.Errorf("holds %s, not a float64", t)
			}
			out = append(out, f)
		default:
			return nil, fmt.Errorf("holds %v: want numbers", tok)
		}
		if len(out) > size {
			return nil, fmt.Errorf("holds more than %d values", size)
		}
	}
	if depth != 0 || (len(out) == 0 && size > 0 && len(raw) == 0) {
		return nil, errors.New("is missing")
	}
	return out, nil
}
