package online

import (
	"errors"
	"fmt"
)

// DeleteFeaturesParams is the input of Store.DeleteFeatures, which removes
// the stored values of Features (each "name:variant") for every entity,
// leaving other features alone. Features never written are no error, so a
// deletion interrupted half-way can run again. What it costs depends on the
// store's layout (see each store's documentation): a store keyed by entity
// scans every entity.
type DeleteFeaturesParams struct {
	Features []string
}

// Validate checks the features before a store touches anything.
func (p *DeleteFeaturesParams) Validate() error {
	if len(p.Features) == 0 {
		return errors.New("no features: name at least one feature to delete")
	}
	for j, f := range p.Features {
		if f == "" {
			return fmt.Errorf("feature %d is empty", j)
		}
	}
	return nil
}
