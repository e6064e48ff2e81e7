package client_test

import (
	"errors"
	"testing"

	"github.com/slipway-ml/slipway/client"
	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/serving"
)

// TestRemoteModelErrors: the answers of an endpoint whose external model
// (oip-v2) failed are model.ErrRemote for errors.Is, and a timeout is
// model.ErrRemoteTimeout too, as the platform's own errors are.
func TestRemoteModelErrors(t *testing.T) {
	for _, c := range []struct {
		code             string
		remote, timedOut bool
	}{
		{"model_error", true, false},
		{"model_timeout", true, true},
		{"model_unavailable", false, false},
	} {
		err := error(&client.Error{Status: 502, Code: c.code, Message: "external model http://h/v2/models/m: answered HTTP 500"})
		if errors.Is(err, model.ErrRemote) != c.remote || errors.Is(err, model.ErrRemoteTimeout) != c.timedOut || errors.Is(err, serving.ErrInvalid) {
			t.Errorf("%s: errors.Is ErrRemote %v, ErrRemoteTimeout %v; want %v, %v", c.code,
				errors.Is(err, model.ErrRemote), errors.Is(err, model.ErrRemoteTimeout), c.remote, c.timedOut)
		}
	}
}
