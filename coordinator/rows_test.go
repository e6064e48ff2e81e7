package coordinator_test

import (
	"testing"

	"github.com/slipway-ml/slipway/coordinator"
	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// A transformation job reports the rows of the table it built, in the
// job's result and in its log.
func TestTransformationJobReportsRows(t *testing.T) {
	c, ctx := setup(t)
	clean := resource.ID{Kind: resource.KindTransformation, Name: "clean", Variant: "default"}
	res, err := c.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{clean}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].Status != registry.JobSucceeded {
		t.Fatalf("run jobs = %+v, want one succeeded", res.Jobs)
	}
	// events.csv has 5 rows, all with a user_id.
	if n := res.Jobs[0].Rows; n != 5 {
		t.Errorf("transformation job reports %d rows, want 5", n)
	}
	// A rebuild over the same input reports them again (not added up).
	res, err = c.Run(ctx, &coordinator.RunParams{IDs: []resource.ID{clean}, Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].Rows != 5 {
		t.Errorf("rebuild jobs = %+v, want one with 5 rows", res.Jobs)
	}
	jobs, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Resource: clean})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Rows != 5 {
			t.Errorf("listed job %d reports %d rows, want 5", j.ID, j.Rows)
		}
	}
}
