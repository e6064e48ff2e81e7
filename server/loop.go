package server

// The feedback loop's route: where each step of a model's loop stands.

import (
	"net/http"

	"github.com/slipway-ml/slipway/platform"
)

// loopStatus answers GET /v1/models/{model}/loop with platform.LoopStatus
// as it is (its JSON is the API's shape).
func (s *server) loopStatus(w http.ResponseWriter, r *http.Request) {
	pathOp(s, w, r, pathModel, s.Platform.LoopStatus, func(st *platform.LoopStatus) any { return st })
}
