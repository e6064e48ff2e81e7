package server

// The lifecycle endpoints: POST /v1/resources/{kind}/{ref}/deprecate and
// DELETE /v1/resources/{kind}/{ref}. Routes are registered, and errors
// become status codes, in server.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/serving"
)

// defaultBy is who the registry records for a lifecycle change that names nobody.
const defaultBy = "api"

// deprecateRequest is the (optional) body of POST .../deprecate.
type deprecateRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
	Undo   bool   `json:"undo"`
}

// DeleteBody is the answer of DELETE /v1/resources/{kind}/{ref}.
type DeleteBody struct {
	// Resource is the tombstone, with its deleted mark.
	Resource ResourceBody `json:"resource"`
	// Again is true when it was deleted before and only its data was removed again.
	Again         bool   `json:"again"`
	Table         string `json:"table,omitempty"`
	OnlineFeature string `json:"online_feature,omitempty"`
}

// queryBoolValue reads a boolean query parameter (false when absent).
func queryBoolValue(q url.Values, name string) (bool, error) {
	s, err := queryOne(q, name)
	if err != nil || s == "" {
		return false, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid("%s=%q: use true or false", name, s)
	}
	return b, nil
}

// pathID reads {kind} and {ref}.
func pathID(r *http.Request) (resource.ID, error) {
	kind, err := pathKind(r)
	if err != nil {
		return resource.ID{}, err
	}
	ref, err := resource.ParseRef(r.PathValue("ref"))
	if err != nil {
		return resource.ID{}, fmt.Errorf("%w: %v", serving.ErrInvalid, err)
	}
	return resource.NewID(kind, ref), nil
}

func (s *server) deprecateResource(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = checkQuery(r.URL.Query())
	}
	var req deprecateRequest
	if err == nil {
		err = decodeOptional(r, &req)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.By == "" {
		req.By = defaultBy
	}
	res, err := s.Platform.Deprecate(r.Context(), &registry.DeprecateParams{ID: id, By: req.By, Reason: req.Reason, Undo: req.Undo})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewResourceBody(res, nil))
}

func (s *server) deleteResource(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	q := r.URL.Query()
	if err == nil {
		err = checkQuery(q, "by", "reason")
	}
	var by, reason string
	if err == nil {
		by, err = queryOne(q, "by")
	}
	if err == nil {
		reason, err = queryOne(q, "reason")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if by == "" {
		by = defaultBy
	}
	res, err := s.Platform.Delete(r.Context(), &registry.DeleteParams{ID: id, By: by, Reason: reason})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DeleteBody{Resource: NewResourceBody(res.Resource, nil), Again: res.Again, Table: res.Table, OnlineFeature: res.OnlineFeature})
}

// DeleteFromBody is the inverse of the delete answer.
func DeleteFromBody(b DeleteBody) *coordinator.DeleteResult {
	r, _ := ResourceFromBody(b.Resource)
	return &coordinator.DeleteResult{Resource: r, Again: b.Again, Table: b.Table, OnlineFeature: b.OnlineFeature}
}

// decodeOptional reads a JSON body strictly, like decode, but an empty
// body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if rerr := readErr(err); rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("%w: reading the body: %v", serving.ErrInvalid, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: malformed JSON body: %s", serving.ErrInvalid, jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: malformed JSON body: data after the object", serving.ErrInvalid)
	}
	return nil
}
