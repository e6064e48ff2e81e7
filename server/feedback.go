package server

// Feedback: POST /v1/feedback records events about predictions
// (platform.API.RecordFeedback). The route is registered, and errors
// become status codes, in server.go.

import (
	"net/http"

	"github.com/slipway-ml/slipway/feedback"
)

// FeedbackRequest is the body of POST /v1/feedback.
type FeedbackRequest struct {
	Events []feedback.Event `json:"events"`
}

// FeedbackResponse is the answer of POST /v1/feedback (202): the events'
// ids, in order (generated where the request gave none).
type FeedbackResponse struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
}

func (s *server) recordFeedback(w http.ResponseWriter, r *http.Request) {
	var body FeedbackRequest
	err := checkQuery(r.URL.Query())
	if err == nil {
		err = decode(r, &body)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Platform.RecordFeedback(r.Context(), body.Events)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, FeedbackResponse{Accepted: len(res.IDs), IDs: res.IDs})
}

func (s *server) feedbackStatus(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.Platform.FeedbackStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
