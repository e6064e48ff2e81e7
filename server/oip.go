package server

// The Open Inference Protocol v2 (KServe's "V2" REST protocol) over the
// live endpoints, for clients that already speak it: the health routes,
// model metadata and readiness, and inference. A model is an endpoint (its
// name, or name:variant); its inputs are the served version's features, one
// tensor per feature, plus an optional "entity" tensor that reads the
// features from the online store as POST /v1/endpoints/{name}/predict does.
// Every inference goes through serving.Endpoints.Predict: the raw feature
// values become request-time overrides of every feature of every row, so
// they are encoded by the version's stored encoding and scored by its
// model.Scorer, the one path from feature values to predictions.
// docs/http-api.md ("Open Inference Protocol v2") documents the mapping.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// OIPEntityInput names the optional inference input that holds entity keys:
// with it, features are read from the online store and feature inputs
// override them; without it, every feature is an input.
const OIPEntityInput = "entity"

// Output tensors of an inference, by task.
const (
	// OIPPrediction is the probability of class 1 (binary classification)
	// or the value (regression): FP64, shape [N].
	OIPPrediction = "prediction"
	// OIPProbabilities are a multiclass model's class probabilities, class
	// 0 first: FP64, shape [N, K].
	OIPProbabilities = "probabilities"
	// OIPClass is the predicted class (classification): INT64, shape [N].
	OIPClass = "class"
	// OIPPredictionID is each prediction's id (a UUIDv7): BYTES, shape [N].
	OIPPredictionID = "prediction_id"
)

// Tensor data types of the protocol.
const (
	oipBool  = "BOOL"
	oipInt64 = "INT64"
	oipFP64  = "FP64"
	oipBytes = "BYTES"
)

// errOIPBinary refuses the binary tensor data extension (tritonclient's default).
var errOIPBinary = fmt.Errorf("%w: binary tensor data is not supported; send the tensors as JSON in \"data\" (tritonclient: binary_data=False)", serving.ErrInvalid)

// OIPTensorMetadata describes an input or output tensor ($metadata_tensor).
type OIPTensorMetadata struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	// Shape's variable dimensions are -1.
	Shape []int64 `json:"shape"`
}

// OIPModelMetadata is the answer of GET /v2/models/{name} ($metadata_model_response).
type OIPModelMetadata struct {
	Name string `json:"name"`
	// Versions holds the one version the endpoint serves now.
	Versions []string            `json:"versions"`
	Platform string              `json:"platform"`
	Inputs   []OIPTensorMetadata `json:"inputs"`
	Outputs  []OIPTensorMetadata `json:"outputs"`
}

// OIPInferRequest is the body of POST /v2/models/{name}/infer ($inference_request).
type OIPInferRequest struct {
	ID         string                     `json:"id,omitempty"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Inputs     []OIPInput                 `json:"inputs"`
	// Outputs choose the outputs to answer (all when empty).
	Outputs []OIPRequestedOutput `json:"outputs,omitempty"`
}

// OIPInput is one input tensor ($request_input).
type OIPInput struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	// Data is flat or nested (row-major); a null element is a missing value.
	Data json.RawMessage `json:"data"`
}

// OIPRequestedOutput names an output to answer ($request_output). Its
// parameters are ignored: outputs are always JSON.
type OIPRequestedOutput struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
}

// OIPInferResponse is the answer of an inference ($inference_response).
type OIPInferResponse struct {
	// ModelName is the endpoint as the request's path named it.
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	// Parameters name what answered: "endpoint" (name:variant), "model"
	// and "alias".
	Parameters map[string]string `json:"parameters"`
	Outputs    []OIPOutput       `json:"outputs"`
}

// OIPOutput is one output tensor ($response_output): Data is flat, row-major.
type OIPOutput struct {
	Name     string          `json:"name"`
	Shape    []int64         `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

// OIPError is every error answer of the /v2 routes ({"error": "..."}).
type OIPError struct {
	Error string `json:"error"`
}

// oipFail answers err in the protocol's error shape, with the status
// statusOf gives it. As in fail, a 500's and a store's 503 details go to the
// log only; a model that cannot be served says why.
func (s *server) oipFail(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := statusOf(err)
	msg := err.Error()
	id := RequestID(r.Context())
	switch {
	case status == http.StatusInternalServerError:
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
		msg = "internal error; the server log has the details under request id " + id
	case errors.Is(err, serving.ErrUnavailable):
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "store unavailable", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", id), slog.Any("err", err))
		msg = "a store behind the API is unavailable; retry later (the server log has the details under request id " + id + ")"
	}
	writeJSON(w, status, OIPError{Error: msg})
}

// oipServerMetadata answers GET /v2.
func (s *server) oipServerMetadata(w http.ResponseWriter, r *http.Request) {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": "slipway", "version": version, "extensions": []string{}})
}

// oipLive answers GET /v2/health/live: the process serves requests.
func (s *server) oipLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// oipReady answers GET /v2/health/ready: the stores serving needs answer,
// checked as GET /readyz checks them; 503 when one does not.
func (s *server) oipReady(w http.ResponseWriter, r *http.Request) {
	if body := s.checkStores(r); body.Status != "ready" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

// oipDescribe describes the endpoint of the request's path, checking the
// version the path names, if any, is the one served.
func (s *server) oipDescribe(r *http.Request) (*serving.EndpointInfo, error) {
	if s.Endpoints == nil {
		return nil, fmt.Errorf("%w: this server serves no endpoints", serving.ErrUnknownEndpoint)
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		return nil, err
	}
	info, err := s.Endpoints.Describe(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if err := checkPathVersion(r, info.Version); err != nil {
		return nil, err
	}
	return info, nil
}

// checkPathVersion refuses a version in the path other than the one served.
func checkPathVersion(r *http.Request, served int) error {
	v := r.PathValue("version")
	if v == "" || served == 0 || v == strconv.Itoa(served) {
		return nil
	}
	return fmt.Errorf("%w: endpoint %s serves version %d of its model, not %q; leave the version out of the path to use the one served",
		serving.ErrUnknownEndpoint, r.PathValue("name"), served, v)
}

// servable is the error of an endpoint with no version to serve.
func servable(info *serving.EndpointInfo) error {
	if info.Version > 0 {
		return nil
	}
	msg := "no version is loaded"
	if info.Problem != nil {
		msg = info.Problem.Error
	}
	return fmt.Errorf("%w: endpoint %s serves model %s@%s: %s", serving.ErrModelUnavailable, info.Endpoint, info.Model, info.Alias, msg)
}

// oipModelReady answers GET /v2/models/{name}/ready: 200 when the version
// the endpoint's alias points at is loaded, else 503 ({"name", "ready"}
// either way); 404 for an unknown endpoint.
func (s *server) oipModelReady(w http.ResponseWriter, r *http.Request) {
	info, err := s.oipDescribe(r)
	if err != nil {
		s.oipFail(w, r, err)
		return
	}
	ready := info.Version > 0 && info.Problem == nil
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}{r.PathValue("name"), ready})
}

// oipModelMetadata answers GET /v2/models/{name}.
func (s *server) oipModelMetadata(w http.ResponseWriter, r *http.Request) {
	info, err := s.oipDescribe(r)
	if err == nil {
		err = servable(info)
	}
	if err != nil {
		s.oipFail(w, r, err)
		return
	}
	md := OIPModelMetadata{Name: r.PathValue("name"), Versions: []string{strconv.Itoa(info.Version)}, Platform: "slipway",
		Inputs: make([]OIPTensorMetadata, len(info.Features))}
	for i, f := range info.Features {
		md.Inputs[i] = OIPTensorMetadata{Name: f.Name, Datatype: oipDatatype(f.Type), Shape: []int64{-1}}
	}
	md.Outputs = oipOutputs(info.Task, len(info.Outputs))
	writeJSON(w, http.StatusOK, md)
}

// oipDatatype is the tensor type of a feature's values: timestamps are
// RFC 3339 strings, as in the overrides of /v1 predict.
func oipDatatype(t value.Type) string {
	switch t {
	case value.Float64:
		return oipFP64
	case value.Int64:
		return oipInt64
	case value.Bool:
		return oipBool
	}
	return oipBytes
}

// oipOutputs are the output tensors of a task, k the scorer's values per row.
func oipOutputs(task string, k int) []OIPTensorMetadata {
	var out []OIPTensorMetadata
	switch task {
	case model.TaskMulticlass:
		out = append(out, OIPTensorMetadata{OIPProbabilities, oipFP64, []int64{-1, int64(k)}}, OIPTensorMetadata{OIPClass, oipInt64, []int64{-1}})
	case model.TaskBinaryClassification:
		out = append(out, OIPTensorMetadata{OIPPrediction, oipFP64, []int64{-1}}, OIPTensorMetadata{OIPClass, oipInt64, []int64{-1}})
	default:
		out = append(out, OIPTensorMetadata{OIPPrediction, oipFP64, []int64{-1}})
	}
	return append(out, OIPTensorMetadata{OIPPredictionID, oipBytes, []int64{-1}})
}

// oipInfer answers POST /v2/models/{name}/infer.
func (s *server) oipInfer(w http.ResponseWriter, r *http.Request) {
	resp, err := s.oipPredict(r)
	if err != nil {
		s.oipFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *server) oipPredict(r *http.Request) (*OIPInferResponse, error) {
	if r.Header.Get("Inference-Header-Content-Length") != "" {
		return nil, errOIPBinary
	}
	info, err := s.oipDescribe(r)
	if err == nil {
		err = servable(info)
	}
	if err != nil {
		return nil, err
	}
	var req OIPInferRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	outputs := oipOutputs(info.Task, len(info.Outputs))
	want, err := requestedOutputs(req.Outputs, outputs)
	if err != nil {
		return nil, err
	}
	preq, raw, err := predictRequest(r.PathValue("name"), info, req.Inputs)
	if err != nil {
		return nil, err
	}
	pr, err := s.Endpoints.Predict(r.Context(), preq)
	if err != nil {
		return nil, err
	}
	if err := checkPathVersion(r, pr.Version); err != nil {
		return nil, err
	}
	if raw {
		// Every feature must have come from the request: the alias may
		// have moved to a version with other features since Describe.
		for _, f := range pr.Features {
			if _, ok := preq.Overrides[0][f]; !ok {
				return nil, fmt.Errorf("%w: endpoint %s now serves version %d of model %s, whose features differ from the request's inputs; read its metadata again (GET /v2/models/%s) and retry",
					serving.ErrInvalid, pr.Endpoint, pr.Version, pr.Model, r.PathValue("name"))
			}
		}
	}
	s.answered(r, pr)
	id := req.ID
	if id == "" {
		id = RequestID(r.Context())
	}
	out := &OIPInferResponse{ModelName: r.PathValue("name"), ModelVersion: strconv.Itoa(pr.Version), ID: id,
		Parameters: map[string]string{"endpoint": pr.Endpoint, "model": pr.Model, "alias": pr.Alias}}
	// The outputs of the version that answered (the one described may
	// have been swapped out since).
	k := len(pr.Predictions[0].Probabilities)
	for _, o := range oipOutputs(pr.Task, k) {
		if want != nil && !want[o.Name] {
			continue
		}
		t, err := outputTensor(o, pr)
		if err != nil {
			return nil, err
		}
		out.Outputs = append(out.Outputs, t)
	}
	return out, nil
}

// requestedOutputs is the set of outputs a request names (nil: all),
// checked against the model's.
func requestedOutputs(req []OIPRequestedOutput, outputs []OIPTensorMetadata) (map[string]bool, error) {
	if len(req) == 0 {
		return nil, nil
	}
	names := make([]string, len(outputs))
	for i, o := range outputs {
		names[i] = o.Name
	}
	want := map[string]bool{}
	for i, o := range req {
		if !slices.Contains(names, o.Name) {
			return nil, fmt.Errorf("%w: outputs[%d]: the model has no output %q; its outputs are %s", serving.ErrInvalid, i, o.Name, strings.Join(names, ", "))
		}
		want[o.Name] = true
	}
	return want, nil
}

// rowKey stands for the entity of row i when the request gives no entities:
// every feature is then overridden, so it is never read.
func rowKey(i int) string { return "#" + strconv.Itoa(i) }

// predictRequest turns the inputs into a prediction request: entity keys
// from the "entity" input (or a placeholder per row), and each feature input
// as the rows' overrides. raw says there is no entity input: every feature
// is an input, named as in the encoding.
func predictRequest(endpoint string, info *serving.EndpointInfo, inputs []OIPInput) (*serving.PredictRequest, bool, error) {
	if len(inputs) == 0 {
		return nil, false, fmt.Errorf("%w: inputs is empty; give one input per feature (GET /v2/models/%s lists them), or an %q input of entity keys", serving.ErrInvalid, endpoint, OIPEntityInput)
	}
	types := map[string]value.Type{}
	for _, f := range info.Features {
		types[f.Name] = f.Type
	}
	_, entityIsFeature := types[OIPEntityInput]
	n := -1
	var entities []string
	columns := map[string][]value.Value{}
	for i, in := range inputs {
		where := fmt.Sprintf("inputs[%d] (%s)", i, in.Name)
		if in.Name == "" {
			return nil, false, fmt.Errorf("%w: inputs[%d] has no name", serving.ErrInvalid, i)
		}
		if _, dup := columns[in.Name]; dup || (in.Name == OIPEntityInput && entities != nil) {
			return nil, false, fmt.Errorf("%w: %s: the input is given twice", serving.ErrInvalid, where)
		}
		if _, ok := in.Parameters["binary_data_size"]; ok {
			return nil, false, errOIPBinary
		}
		rows, err := rowsOf(in.Shape)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", serving.ErrInvalid, where, err)
		}
		if n >= 0 && rows != n {
			return nil, false, fmt.Errorf("%w: %s has %d rows and %s has %d; every input has one value per row", serving.ErrInvalid, where, rows, inputs[0].Name, n)
		}
		n = rows
		elems, err := flatten(in.Data)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: data: %v", serving.ErrInvalid, where, err)
		}
		if len(elems) != rows {
			return nil, false, fmt.Errorf("%w: %s: shape %v holds %d values but data has %d", serving.ErrInvalid, where, in.Shape, rows, len(elems))
		}
		if in.Name == OIPEntityInput && !entityIsFeature {
			if entities, err = entityKeys(in.Datatype, elems); err != nil {
				return nil, false, fmt.Errorf("%w: %s: %v", serving.ErrInvalid, where, err)
			}
			continue
		}
		t, ok := types[in.Name]
		if !ok {
			return nil, false, fmt.Errorf("%w: %s: model %s version %d has no feature %q; its inputs are %s, and %q for entity keys",
				serving.ErrInvalid, where, info.Model, info.Version, in.Name, oipFeatureNames(info.Features), OIPEntityInput)
		}
		vals, err := tensorValues(in.Datatype, t, elems)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", serving.ErrInvalid, where, err)
		}
		columns[in.Name] = vals
	}
	raw := entities == nil
	if raw {
		var missing []string
		for _, f := range info.Features {
			if _, ok := columns[f.Name]; !ok {
				missing = append(missing, f.Name)
			}
		}
		if len(missing) > 0 {
			return nil, false, fmt.Errorf("%w: missing input(s) %s: give every feature of model %s version %d (GET /v2/models/%s lists them), or an %q input to read the others from the online store",
				serving.ErrInvalid, strings.Join(missing, ", "), info.Model, info.Version, endpoint, OIPEntityInput)
		}
		entities = make([]string, n)
		for i := range entities {
			entities[i] = rowKey(i)
		}
	}
	req := &serving.PredictRequest{Endpoint: endpoint, Entities: entities}
	if len(columns) > 0 {
		req.Overrides = make([]map[string]value.Value, n)
		for i := range req.Overrides {
			req.Overrides[i] = make(map[string]value.Value, len(columns))
			for name, vals := range columns {
				req.Overrides[i][name] = vals[i]
			}
		}
	}
	return req, raw, nil
}

func oipFeatureNames(fs []model.Feature) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// rowsOf is the number of rows of a feature or entity tensor: shape [N] or [N, 1].
func rowsOf(shape []int64) (int, error) {
	switch {
	case len(shape) == 1 && shape[0] > 0:
	case len(shape) == 2 && shape[0] > 0 && shape[1] == 1:
	default:
		return 0, fmt.Errorf("shape %v: an input holds one value per row, so its shape is [N] or [N, 1] with N ≥ 1", shape)
	}
	if shape[0] > serving.MaxBatch {
		return 0, fmt.Errorf("shape %v: more than %d rows; split the request", shape, serving.MaxBatch)
	}
	return int(shape[0]), nil
}

// flatten reads tensor data, flat or nested, into its elements in
// row-major order: each a json.Number, string, bool or nil.
func flatten(data json.RawMessage) ([]any, error) {
	if len(data) == 0 {
		return nil, errors.New("missing; give the tensor's values as a JSON array")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []any
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '[':
				depth++
			case ']':
				depth--
			default:
				return nil, errors.New("an object is not a tensor element; elements are numbers, strings, booleans or null")
			}
		default:
			if depth == 0 {
				return nil, errors.New("not an array; give the tensor's values as a JSON array")
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// entityKeys reads the entity input: BYTES of strings, or integers.
func entityKeys(datatype string, elems []any) ([]string, error) {
	keys := make([]string, len(elems))
	for i, e := range elems {
		switch k := e.(type) {
		case string:
			if datatype != oipBytes {
				return nil, fmt.Errorf("datatype %s: entity keys are BYTES (strings) or INT64", datatype)
			}
			keys[i] = k
		case json.Number:
			if _, err := strconv.ParseInt(k.String(), 10, 64); err != nil || !isInt(datatype) {
				return nil, fmt.Errorf("data[%d]: entity keys are strings (BYTES) or integers (INT64), got %s %s", i, datatype, k)
			}
			keys[i] = k.String()
		default:
			return nil, fmt.Errorf("data[%d]: entity keys are strings (BYTES) or integers (INT64), got %v", i, e)
		}
		if keys[i] == "" {
			return nil, fmt.Errorf("data[%d] is an empty entity key", i)
		}
	}
	return keys, nil
}

func isInt(datatype string) bool {
	switch datatype {
	case "INT8", "INT16", "INT32", oipInt64, "UINT8", "UINT16", "UINT32", "UINT64":
		return true
	}
	return false
}

func isFloat(datatype string) bool {
	return datatype == "FP16" || datatype == "FP32" || datatype == oipFP64
}

// tensorValues reads a feature input's elements as values for a feature of
// type t. The datatype must fit the feature: FP64 features take any number
// type, INT64 features integer types (and floats, refused by Predict unless
// whole), BOOL features BOOL, string and timestamp features BYTES
// (timestamps in RFC 3339). A null element is a missing value.
func tensorValues(datatype string, t value.Type, elems []any) ([]value.Value, error) {
	numeric := isInt(datatype) || isFloat(datatype)
	if !numeric && datatype != oipBool && datatype != oipBytes {
		return nil, fmt.Errorf("datatype %q is not one of the protocol's (BOOL, INT8…INT64, UINT8…UINT64, FP16, FP32, FP64, BYTES)", datatype)
	}
	var fits bool
	switch t {
	case value.Float64, value.Int64:
		fits = numeric
	case value.Bool:
		fits = datatype == oipBool
	case value.String, value.Timestamp:
		fits = datatype == oipBytes
	}
	if !fits {
		return nil, fmt.Errorf("datatype %s does not fit the feature, which is %s: send it as %s", datatype, t, oipDatatype(t))
	}
	out := make([]value.Value, len(elems))
	for i, e := range elems {
		var v value.Value
		var ok bool
		switch x := e.(type) {
		case nil:
			v, ok = value.NullValue(), true
		case json.Number:
			if !numeric {
				break
			}
			if isInt(datatype) {
				n, err := strconv.ParseInt(x.String(), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("data[%d]: %s is not an integer of %s", i, x, datatype)
				}
				v, ok = value.FromInt64(n), true
				if t == value.Float64 {
					v = value.FromFloat64(float64(n))
				}
				break
			}
			f, err := x.Float64()
			if err != nil {
				return nil, fmt.Errorf("data[%d]: %s: %v", i, x, err)
			}
			v, ok = value.FromFloat64(f), true
		case bool:
			v, ok = value.FromBool(x), datatype == oipBool
		case string:
			v, ok = value.FromString(x), datatype == oipBytes
		}
		if !ok {
			return nil, fmt.Errorf("data[%d]: %v is not a %s element", i, e, datatype)
		}
		out[i] = v
	}
	return out, nil
}

// outputTensor is one output of the predictions.
func outputTensor(o OIPTensorMetadata, pr *serving.PredictResponse) (OIPOutput, error) {
	n := len(pr.Predictions)
	out := OIPOutput{Name: o.Name, Datatype: o.Datatype, Shape: []int64{int64(n)}}
	var data any
	switch o.Name {
	case OIPPrediction:
		vals := make([]float64, n)
		for i, p := range pr.Predictions {
			switch {
			case p.Probability != nil:
				vals[i] = *p.Probability
			case p.Value != nil:
				vals[i] = *p.Value
			}
		}
		data = vals
	case OIPProbabilities:
		k := o.Shape[1]
		out.Shape = append(out.Shape, k)
		vals := make([]float64, 0, int64(n)*k)
		for _, p := range pr.Predictions {
			vals = append(vals, p.Probabilities...)
		}
		data = vals
	case OIPClass:
		vals := make([]int, n)
		for i, p := range pr.Predictions {
			if p.Class != nil {
				vals[i] = *p.Class
			}
		}
		data = vals
	case OIPPredictionID:
		ids := make([]string, n)
		for i, p := range pr.Predictions {
			ids[i] = p.ID
		}
		data = ids
	}
	b, err := json.Marshal(data)
	if err != nil {
		return out, fmt.Errorf("output %s of model %s version %d: %w", o.Name, pr.Model, pr.Version, err)
	}
	out.Data = b
	return out, nil
}
