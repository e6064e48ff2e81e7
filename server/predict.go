package server

// Live predictions: POST /v1/endpoints/{name}/predict answers with the
// model version the endpoint's alias points at (serving.Endpoints). The
// route is registered, and errors become status codes, in server.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/serving"
	"github.com/slipway-ml/slipway/value"
)

// PredictRequest is the body of POST /v1/endpoints/{name}/predict.
type PredictRequest struct {
	// Entities are entity keys: strings, or integers meaning their decimal
	// string (as for online features).
	Entities []json.RawMessage `json:"entities"`
	// Features are request-time feature values: none, or one object per
	// entity, aligned with Entities, mapping a feature of the served
	// version (its name in the encoding, or name:variant) to a JSON number,
	// string, boolean or null (see decodeFeatureValue).
	Features []map[string]json.RawMessage `json:"features,omitempty"`
}

// NewPredictRequest is the body that asks for req (its Endpoint goes in
// the path).
func NewPredictRequest(req *serving.PredictRequest) (*PredictRequest, error) {
	b := &PredictRequest{Entities: make([]json.RawMessage, len(req.Entities))}
	for i, e := range req.Entities {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		b.Entities[i] = raw
	}
	if len(req.Overrides) > 0 {
		b.Features = make([]map[string]json.RawMessage, len(req.Overrides))
		for i, o := range req.Overrides {
			b.Features[i] = make(map[string]json.RawMessage, len(o))
			for name, v := range o {
				raw, err := json.Marshal(v)
				if err != nil {
					return nil, fmt.Errorf("features[%d]: %s: %w", i, name, err)
				}
				b.Features[i][name] = raw
			}
		}
	}
	return b, nil
}

// PredictRequestFromBody is NewPredictRequest's inverse: the request of a
// body for an endpoint. A value that is not a number, string, boolean or
// null is a serving.ErrInvalid error naming where it is.
func PredictRequestFromBody(endpoint string, b *PredictRequest) (*serving.PredictRequest, error) {
	req := &serving.PredictRequest{Endpoint: endpoint, Entities: make([]string, len(b.Entities))}
	for i, raw := range b.Entities {
		key, err := entityKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: entities[%d]: %v", serving.ErrInvalid, i, err)
		}
		req.Entities[i] = key
	}
	if len(b.Features) > 0 && len(b.Features) != len(b.Entities) {
		return nil, fmt.Errorf("%w: %d objects in features for %d entities; give one (possibly empty) object of feature values per entity, in the order of entities, or no features",
			serving.ErrInvalid, len(b.Features), len(b.Entities))
	}
	if len(b.Features) > 0 {
		req.Overrides = make([]map[string]value.Value, len(b.Features))
		for i, m := range b.Features {
			if m == nil {
				continue
			}
			req.Overrides[i] = make(map[string]value.Value, len(m))
			for name, raw := range m {
				v, err := decodeFeatureValue(raw)
				if err != nil {
					return nil, fmt.Errorf("%w: features[%d] (entity %s): %s: %v", serving.ErrInvalid, i, req.Entities[i], name, err)
				}
				req.Overrides[i][name] = v
			}
		}
	}
	return req, nil
}

// decodeFeatureValue reads a request-time feature value: null; a number,
// int64 when written as an integer (no fraction or exponent), else float64;
// a string; a boolean. Serving converts it to the feature's type (an
// integer for a float64 feature, a whole float64 for an int64 one, an RFC
// 3339 string for a timestamp) or refuses it.
func decodeFeatureValue(raw json.RawMessage) (value.Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return value.Value{}, fmt.Errorf("no value")
	}
	switch c := raw[0]; {
	case string(raw) == "null":
		return value.NullValue(), nil
	case string(raw) == "true", string(raw) == "false":
		return value.FromBool(string(raw) == "true"), nil
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return value.Value{}, err
		}
		return value.FromString(s), nil
	case c == '-' || '0' <= c && c <= '9':
		s := string(raw)
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return value.Value{}, fmt.Errorf("%s does not fit in a 64-bit integer", s)
			}
			return value.FromInt64(i), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return value.Value{}, fmt.Errorf("%s does not fit in a float64", s)
		}
		return value.FromFloat64(f), nil
	}
	return value.Value{}, fmt.Errorf("%s is not a feature value: give a number, a string, a boolean or null", truncate(string(raw), 60))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// predict answers POST /v1/endpoints/{name}/predict with the
// serving.PredictResponse.
func (s *server) predict(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.Endpoints == nil {
		s.fail(w, r, fmt.Errorf("%w: this server serves no endpoints (it was started without serving.Endpoints)", serving.ErrModelUnavailable))
		return
	}
	// One pooled buffer holds the body, then the answer (fastjson.go).
	buf := getBuf()
	defer putBuf(buf)
	body, rerr := readBody(r.Body, *buf, r.ContentLength)
	*buf = body
	var req *serving.PredictRequest
	if rerr == nil {
		if entities, ok := decodePredictFast(body); ok {
			req = &serving.PredictRequest{Endpoint: r.PathValue("name"), Entities: entities}
		}
	}
	if req == nil {
		var b PredictRequest
		if err := decodeReader(rereader(body, rerr), &b); err != nil {
			s.fail(w, r, err)
			return
		}
		var err error
		if req, err = PredictRequestFromBody(r.PathValue("name"), &b); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	resp, err := s.Endpoints.Predict(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answered(r, resp)
	out, ok := appendPredict(body[:0], resp)
	if !ok {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	*buf = out
	writeJSONBytes(w, http.StatusOK, out)
}
