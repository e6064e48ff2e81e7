package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// Recover cleans up after jobs whose process died: RecoverJobs ends the
// attempts whose lease expired (each job is queued again, failed or
// cancelled by the queue's rules), the temporary file an export attempt
// was writing is removed, and the resources such attempts left running
// get back the status they had (Reconcile). Every command that opens the
// job queue calls it first, so no job stays running past its lease and no
// resource stays running after its job is over.
// It returns the jobs it recovered, as they are now.
func (c *Coordinator) Recover(ctx context.Context) ([]*registry.Job, error) {
	jobs, err := c.recoverJobs(ctx)
	if err != nil {
		return nil, err
	}
	return jobs, c.Reconcile(ctx)
}

// recoverJobs ends the attempts whose lease expired, removes the partial
// files of those that were exports, and returns the jobs it ended.
func (c *Coordinator) recoverJobs(ctx context.Context) ([]*registry.Job, error) {
	jobs, err := c.Registry.RecoverJobs(ctx, &registry.RecoverJobsParams{Now: c.now()})
	if err != nil {
		return nil, fmt.Errorf("recovering jobs whose worker died: %w", err)
	}
	for _, j := range jobs {
		run := &jobRun{c: c, job: j}
		outcome := string(j.Status)
		if j.Status == registry.JobQueued {
			outcome = "queued again"
		}
		run.logf("the worker's lease expired during the attempt (its process died or stopped): %s", outcome)
		c.logger().Debug("recovered a job whose worker died", "job", j.ID, "kind", j.Kind, "resource", j.Resource, "status", j.Status)
		if j.Kind == JobExport {
			c.removePartials(ctx, run)
		}
	}
	return jobs, nil
}

// Reconcile puts back the status of resources marked running that no
// running job works on (a job whose worker died, now recovered, or one that
// ended without its worker recording it): each gets the status settled
// gives it.
func (c *Coordinator) Reconcile(ctx context.Context) error {
	// Resources first, then jobs: a resource an attempt marked running after
	// the first read is not a candidate, and one marked before belongs to a
	// job the second read sees running.
	all, err := c.Registry.List(ctx, &registry.ListParams{})
	if err != nil {
		return fmt.Errorf("listing resources: %w", err)
	}
	var candidates []resource.ID
	for _, r := range all {
		if r.State.Status == resource.StatusRunning {
			candidates = append(candidates, r.ID)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	running, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobRunning}, Limit: 1000})
	if err != nil {
		return fmt.Errorf("listing running jobs: %w", err)
	}
	if len(running) == 1000 {
		return nil // too busy to tell; a later call will
	}
	busy := map[resource.ID]bool{}
	for _, j := range running {
		for _, id := range jobResources(j) {
			busy[id] = true
		}
		busy[j.Resource] = true
	}
	for _, id := range candidates {
		if busy[id] {
			continue
		}
		// Read again: an attempt may have ended in between and set it.
		r, err := c.Registry.Get(ctx, id)
		if err != nil || r.State.Status != resource.StatusRunning {
			continue
		}
		if err := c.setStatus(ctx, id, c.settled(ctx, id, r.State), r.State.Error, nil); err != nil {
			c.logger().Warn("recording a status", "resource", id, "error", err)
		}
	}
	return nil
}

// settled is the status to give a resource an attempt that is over left
// running: failed when its last run failed (markRunning keeps that error),
// else ready when it was built before (it has a schema or a watermark, or
// a job on it succeeded), else pending.
func (c *Coordinator) settled(ctx context.Context, id resource.ID, st resource.State) resource.Status {
	switch {
	case st.Error != "":
		return resource.StatusFailed
	case st.Schema != nil || !st.Watermark.IsZero():
		return resource.StatusReady
	}
	done, err := c.Registry.ListJobs(ctx, &registry.ListJobsParams{Resource: id, Statuses: []registry.JobStatus{registry.JobSucceeded}, Limit: 1})
	if err == nil && len(done) > 0 {
		return resource.StatusReady
	}
	return resource.StatusPending
}

// partialGlob matches the temporary files offline.PartialPath reserves for
// an export to path.
func partialGlob(path string) string {
	escape := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return filepath.Join(escape.Replace(filepath.Dir(path)), "."+escape.Replace(filepath.Base(path))+".*.partial")
}

// removePartials removes the temporary files an export job's dead attempt
// left next to its output, unless another running export writes the same
// file. Run on another machine than the attempt, it finds nothing to
// remove.
func (c *Coordinator) removePartials(ctx context.Context, run *jobRun) {
	var args exportArgs
	if decodeArgs(run.job, &args) != nil || !filepath.IsAbs(args.Path) {
		return
	}
	shared := false // another attempt may be writing one of them
	err := c.eachJob(ctx, registry.ListJobsParams{Statuses: []registry.JobStatus{registry.JobRunning}, Kind: JobExport}, func(j *registry.Job) bool {
		var other exportArgs
		shared = j.ID != run.job.ID && decodeArgs(j, &other) == nil && other.Path == args.Path
		return !shared
	})
	if err != nil {
		c.logger().Warn("listing running exports", "error", err)
		return
	}
	if shared {
		return
	}
	files, _ := filepath.Glob(partialGlob(args.Path))
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			c.logger().Warn("removing a dead export's partial file", "file", f, "error", err)
			continue
		}
		run.logf("removed the partial file %s", f)
	}
}

// CheckOutputPath checks that an export can write path: its directory
// exists and is a directory, path itself is not a directory, and files can
// be created there. The errors name path and say what to do.
func CheckOutputPath(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot write %s: it is a directory; give a file name inside it", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: directory %s does not exist; create it first", path, dir)
	case errors.Is(err, syscall.ENOTDIR) || err == nil && !fi.IsDir():
		return fmt.Errorf("cannot write %s: %s is a file, not a directory; choose another path", path, fileAncestor(dir))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot write %s: no permission to read directory %s", path, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	// Creating a file is the only sure test of permission (ACLs, read-only
	// mounts); its name is one recovery would clean up.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.partial")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("cannot write %s: no permission to create files in %s", path, dir)
		}
		return fmt.Errorf("cannot write %s: creating a file in %s: %w", path, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// fileAncestor returns the first of dir and its parents that exists and is
// not a directory (dir itself when none is found).
func fileAncestor(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && !fi.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// requestError is a failure that is the request's fault, not the
// resource's (an output path that cannot be written): no retry can fix it,
// and the job fails without marking its resource failed.
type requestError struct{ err error }

func (e requestError) Error() string        { return e.err.Error() }
func (e requestError) Unwrap() error        { return e.err }
func (e requestError) Is(target error) bool { return target == errPermanent }
