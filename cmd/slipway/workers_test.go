package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/value"
)

// Sizes of TestTwoWorkersOnPostgresOneKilled's data: enough rows that a
// materialize job takes a few seconds on a small machine, so that a worker
// can be killed in the middle of one.
const (
	twoWorkersRows     = 2_400_000
	twoWorkersEntities = 120_000
	twoWorkersLease    = 3 * time.Second
)

// TestTwoWorkersOnPostgresOneKilled queues many jobs (a rebuild, a
// materialization in 6 chunks per source, and a plain one) on a PostgreSQL
// registry and offline store with a Redis online store, works them with two
// `slipway worker` processes, and kills one of them with SIGKILL while it runs
// a materialize job. The other worker must take over the killed worker's jobs
// once their leases expire (not before: a job never has two live workers),
// every job must succeed exactly once, and the online store must end up with
// the latest value per entity of every feature, as computed independently in
// SQL.
func TestTwoWorkersOnPostgresOneKilled(t *testing.T) {
	dsn := testenv.Postgres(t)
	redisAddr := testenv.Redis(t)
	ctx := context.Background()
	testStart := time.Now()
	suffix := fmt.Sprintf("%d", rand.Uint32())
	data, regSchema, offSchema := "tw_data_"+suffix, "tw_registry_"+suffix, "tw_offline_"+suffix
	prefix := "slipway_tw_" + suffix + ":"

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() {
		bg := context.Background()
		defer rdb.Close()
		defer conn.Close(bg)
		for _, s := range []string{data, regSchema, offSchema} {
			if _, err := conn.Exec(bg, "DROP SCHEMA IF EXISTS "+s+" CASCADE"); err != nil {
				t.Logf("dropping schema %s: %v", s, err)
			}
		}
		iter := rdb.Scan(bg, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(bg) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				rdb.Unlink(bg, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Unlink(bg, keys...)
		}
		if err := iter.Err(); err != nil {
			t.Logf("deleting redis keys %s*: %v", prefix, err)
		}
	})

	// 1. The data: rows of an event table, with a few null entities, null
	// timestamps and null scores, and equal newest timestamps for many
	// entities so that the tie rule matters.
	step := time.Now()
	for _, stmt := range []string{
		"CREATE SCHEMA " + data,
		fmt.Sprintf(`CREATE TABLE %s.events AS
			SELECT CASE WHEN i %% 1009 = 0 THEN NULL ELSE i %% %[2]d END::bigint AS user_id,
			       CASE WHEN i %% 997 = 0 THEN NULL
			            ELSE timestamp '2026-01-01' + ((hashint8(i) & 2147483647) %% 168) * interval '1 hour' END AS event_time,
			       CASE WHEN i %% 11 = 0 THEN NULL ELSE ((i * 31337) %% 100000) / 100.0 END::double precision AS score,
			       ((i * 104729) %% 1000)::bigint AS clicks
			FROM generate_series(1::bigint, %[3]d) AS i`, data, twoWorkersEntities, twoWorkersRows),
		"ANALYZE " + data + ".events",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var ties int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (
			SELECT user_id FROM (
				SELECT user_id, event_time, max(event_time) OVER (PARTITION BY user_id) AS newest FROM `+data+`.events
				WHERE user_id IS NOT NULL AND event_time IS NOT NULL) AS r
			WHERE event_time = newest GROUP BY user_id HAVING count(*) > 1) AS t`).Scan(&ties); err != nil {
		t.Fatal(err)
	}
	if ties == 0 {
		t.Fatal("the generated data has no entity with two rows at its newest time: the tie rule would go untested")
	}
	t.Logf("data: %d rows, %d entities, %d entities with tied newest rows (%s)", twoWorkersRows, twoWorkersEntities, ties, time.Since(step).Round(time.Millisecond))

	dir := t.TempDir()
	writeProductionConfig(t, dir, regSchema, offSchema, []string{redisAddr}, prefix)
	must(t, os.MkdirAll(filepath.Join(dir, "defs"), 0o755))
	defs := fmt.Sprintf(`entities:
  - name: user
sources:
  - name: events
    table: %s.events
    timestamp_column: event_time
transformations:
  - name: user_scores
    sql: |
      SELECT user_id, event_time, score * 2 + clicks AS combined,
             'c' || lpad((clicks %% 13)::text, 2, '0') AS tag
      FROM {{ events }}
features:
  - name: score
    entity: user
    source: events
    entity_column: user_id
    value_column: score
    timestamp_column: event_time
    type: float64
  - name: clicks
    entity: user
    source: events
    entity_column: user_id
    value_column: clicks
    timestamp_column: event_time
    type: int64
  - name: combined
    entity: user
    source: user_scores
    entity_column: user_id
    value_column: combined
    timestamp_column: event_time
    type: float64
  - name: tag
    entity: user
    source: user_scores
    entity_column: user_id
    value_column: tag
    timestamp_column: event_time
    type: string
`, data)
	if err := os.WriteFile(filepath.Join(dir, "defs", "users.yaml"), []byte(defs), 0o644); err != nil {
		t.Fatal(err)
	}
	// The expected latest value of each feature, computed from the source
	// table (the transformation's expressions applied to it): per entity, the
	// newest timestamp and the greatest non-null value among its rows at that
	// time (offline.ReadLatestParams' tie rule).
	features := []struct {
		name string
		expr string
		typ  value.Type
	}{
		{"score", "score", value.Float64},
		{"clicks", "clicks", value.Int64},
		{"combined", "score * 2 + clicks", value.Float64},
		{"tag", "'c' || lpad((clicks % 13)::text, 2, '0')", value.String},
	}

	env := append(os.Environ(), "E2E_DSN="+dsn, "SLIPWAY_DATA_DIR="+filepath.Join(dir, "unused"))
	run := func(args ...string) result {
		t.Helper()
		r := execSlipway(t, dir, env, args...)
		if r.code != 0 {
			t.Fatalf("slipway %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}

	// 2. Queue the jobs.
	step = time.Now()
	run("apply", "defs")
	queued := func(r result, what string) {
		t.Helper()
		if !strings.Contains(r.stdout, "queued job ") {
			t.Fatalf("%s --detach does not say it queued jobs:\nstdout:\n%s\nstderr:\n%s", what, r.stdout, r.stderr)
		}
		t.Logf("%s --detach: %d jobs queued", what, strings.Count(r.stdout, "queued job "))
	}
	queued(run("run", "--detach", "--rebuild"), "run")
	queued(run("materialize", "--detach", "--chunks", "6"), "materialize --chunks 6")
	queued(run("materialize", "--detach"), "materialize")

	jobsTable, logsTable := regSchema+".jobs", regSchema+".job_logs"
	type jobRow struct {
		id                int64
		kind, args        string
		status, worker    string
		attempts          int
		started, lease    time.Time
		ended             time.Time
		resource, errText string
	}
	readJobs := func() []jobRow {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT id, kind, COALESCE(convert_from(args, 'UTF8'), ''), status, worker, attempts,
				COALESCE(started_at, 'epoch'), COALESCE(lease_until, 'epoch'), COALESCE(ended_at, 'epoch'), resource_name, error
			FROM `+jobsTable+` ORDER BY id`)
		if err != nil {
			t.Fatalf("reading the jobs: %v", err)
		}
		jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (jobRow, error) {
			var j jobRow
			err := r.Scan(&j.id, &j.kind, &j.args, &j.status, &j.worker, &j.attempts, &j.started, &j.lease, &j.ended, &j.resource, &j.errText)
			return j, err
		})
		if err != nil {
			t.Fatalf("reading the jobs: %v", err)
		}
		return jobs
	}
	all := readJobs()
	if len(all) < 15 {
		t.Fatalf("only %d jobs queued, want at least 15", len(all))
	}
	for _, j := range all {
		if j.status != "queued" {
			t.Fatalf("job %d is %s before any worker started", j.id, j.status)
		}
	}
	t.Logf("queued %d jobs (%s)", len(all), time.Since(step).Round(time.Millisecond))

	// 3. Two workers.
	type worker struct {
		cmd  *exec.Cmd
		out  *twoWorkersOutput
		done chan struct{}
		err  error
	}
	start := func(name string) *worker {
		t.Helper()
		w := &worker{out: &twoWorkersOutput{}, done: make(chan struct{})}
		w.cmd = exec.Command(binary, "worker", "--concurrency", "2", "--lease", twoWorkersLease.String())
		w.cmd.Dir, w.cmd.Env = dir, env
		w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
		if err := w.cmd.Start(); err != nil {
			t.Fatalf("starting worker %s: %v", name, err)
		}
		go func() { w.err = w.cmd.Wait(); close(w.done) }()
		return w
	}
	workersStart := time.Now()
	a, b := start("A"), start("B")
	pidA, pidB := a.cmd.Process.Pid, b.cmd.Process.Pid
	t.Cleanup(func() {
		for _, w := range []*worker{a, b} {
			select {
			case <-w.done:
			default:
				w.cmd.Process.Kill()
				<-w.done
			}
		}
	})
	// On failure, show what happened.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		cmd := exec.Command(binary, "jobs", "list", "--limit", "1000")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		t.Logf("slipway jobs list (%v):\n%s", err, out)
		rows, err := conn.Query(ctx, `SELECT job_id, seq, time, line FROM `+logsTable+` ORDER BY job_id, seq`)
		if err == nil {
			var sb strings.Builder
			for rows.Next() {
				var id, seq int64
				var at time.Time
				var line string
				rows.Scan(&id, &seq, &at, &line)
				fmt.Fprintf(&sb, "job %d #%d %s %s\n", id, seq, at.Local().Format("15:04:05.000"), line)
			}
			rows.Close()
			t.Logf("job logs:\n%s", sb.String())
		}
		t.Logf("worker A (pid %d) output:\n%s", pidA, a.out.String())
		t.Logf("worker B (pid %d) output:\n%s", pidB, b.out.String())
	})

	// Worker names are host-pid-random (coordinator.Worker's default).
	namePID := regexp.MustCompile(`-(\d+)-[0-9a-f]{4}$`)
	pidOf := func(worker string) int {
		m := namePID.FindStringSubmatch(worker)
		if m == nil {
			return 0
		}
		pid, _ := strconv.Atoi(m[1])
		return pid
	}

	// Wait until A has finished a job and has been running a materialize
	// job (a chunk or a whole group, not a commit) for a moment, then kill it.
	step = time.Now()
	var nameA string
	var killTime time.Time
	for deadline := time.Now().Add(40 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatalf("worker A (pid %d) never ran a materialize job for long enough to be killed in the middle of it", pidA)
		}
		select {
		case <-a.done:
			t.Fatalf("worker A exited before it was killed: %v", a.err)
		case <-b.done:
			t.Fatalf("worker B exited: %v", b.err)
		default:
		}
		var target *jobRow
		jobs := readJobs()
		doneByA := 0
		for _, j := range jobs {
			if j.status == "succeeded" && pidOf(j.worker) == pidA {
				doneByA++
			}
		}
		for i, j := range jobs {
			// Preferably once A has finished a job, so that both workers
			// have work to show; but not at the cost of never killing it.
			if doneByA == 0 && time.Since(step) < 15*time.Second {
				break
			}
			if j.status == "running" && pidOf(j.worker) == pidA && j.kind == "materialize" &&
				!strings.Contains(j.args, `"commit":true`) && time.Since(j.started) > 500*time.Millisecond {
				target = &jobs[i]
				break
			}
		}
		if target != nil {
			nameA = target.worker
			killTime = time.Now()
			if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("killing worker A: %v", err)
			}
			t.Logf("killed worker A (%s) %s after the workers started, while it ran job %d (%s, args %s) started %s before",
				nameA, time.Since(step).Round(time.Millisecond), target.id, target.resource, target.args, killTime.Sub(target.started).Round(time.Millisecond))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-a.done
	// A claim A sent just before it died may still be committing in
	// PostgreSQL (a dead client's COMMIT is processed after it is gone):
	// give it a moment, well short of the leases' expiry.
	time.Sleep(300 * time.Millisecond)

	// What A held when it died: its writes are over, and B cannot take these
	// jobs before their leases expire, a couple of seconds from now.
	held := map[int64]jobRow{}
	for _, j := range readJobs() {
		if j.status == "running" && j.worker == nameA {
			held[j.id] = j
		}
	}
	if len(held) == 0 {
		t.Fatalf("worker A held no running job when it died: the kill was not mid-job, nothing was taken over")
	}
	var heldIDs []int64
	for id, j := range held {
		heldIDs = append(heldIDs, id)
		if j.lease.Before(killTime) {
			t.Errorf("job %d: worker A's lease ended at %s, before the kill at %s, although A was alive and renewing it",
				id, j.lease.Local().Format("15:04:05.000"), killTime.Local().Format("15:04:05.000"))
		}
	}
	sort.Slice(heldIDs, func(i, j int) bool { return heldIDs[i] < heldIDs[j] })
	t.Logf("worker A held jobs %v when it died", heldIDs)

	// 4. Wait for every job to end, then stop B.
	for deadline := time.Now().Add(120 * time.Second); ; {
		live := 0
		for _, j := range readJobs() {
			if j.status == "queued" || j.status == "running" {
				live++
			}
		}
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs have not ended 120s after worker A was killed", live)
		}
		select {
		case <-b.done:
			t.Fatalf("worker B exited with %d jobs left: %v", live, b.err)
		default:
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("every job ended %s after the kill", time.Since(killTime).Round(time.Millisecond))
	b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
		if b.err != nil {
			t.Errorf("worker B did not stop cleanly on SIGINT: %v", b.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker B did not stop within 30s of SIGINT")
	}
	if out := b.out.String(); !strings.Contains(out, "stopped") {
		t.Errorf("worker B did not say it stopped:\n%s", out)
	}

	// 5. Every job succeeded exactly once; A's jobs were taken over by B
	// only after their leases expired.
	logs := map[int64][]string{}
	rows, err := conn.Query(ctx, `SELECT job_id, line FROM `+logsTable+` ORDER BY job_id, seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var line string
		if err := rows.Scan(&id, &line); err != nil {
			t.Fatal(err)
		}
		logs[id] = append(logs[id], line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	attemptLine := regexp.MustCompile(`^attempt (\d+) of \d+ started on worker (\S+)$`)
	final := readJobs()
	if len(final) != len(all) {
		t.Errorf("%d jobs at the end, %d queued at the start", len(final), len(all))
	}
	var timeline strings.Builder
	for _, j := range final {
		who := "?"
		switch pidOf(j.worker) {
		case pidA:
			who = "A"
		case pidB:
			who = "B"
		}
		what := j.kind + " " + j.resource
		if m := regexp.MustCompile(`"chunk":(\d+)`).FindStringSubmatch(j.args); m != nil {
			what += " chunk " + m[1]
		} else if strings.Contains(j.args, `"chunks":`) {
			what += " chunk 0"
		}
		if strings.Contains(j.args, `"commit":true`) {
			what += " commit"
		}
		fmt.Fprintf(&timeline, "  job %2d %-38s %-9s attempts %d, last on %s: %5.1fs → %5.1fs (%s)\n", j.id, what, j.status, j.attempts, who,
			j.started.Sub(workersStart).Seconds(), j.ended.Sub(workersStart).Seconds(), j.ended.Sub(j.started).Round(time.Millisecond))
	}
	t.Logf("jobs (times from the workers' start; A killed at %.1fs):\n%s", killTime.Sub(workersStart).Seconds(), timeline.String())
	tookOver := 0
	for _, j := range final {
		if j.status != "succeeded" {
			t.Errorf("job %d (%s %s) is %s: %s", j.id, j.kind, j.resource, j.status, j.errText)
			continue
		}
		succeeded := 0
		var starts []string // the worker of each attempt, in order
		for _, line := range logs[j.id] {
			if strings.HasPrefix(line, "succeeded") {
				succeeded++
			}
			if m := attemptLine.FindStringSubmatch(line); m != nil {
				if n, _ := strconv.Atoi(m[1]); n != len(starts)+1 {
					t.Errorf("job %d: log line %q out of order (attempts before: %v)", j.id, line, starts)
				}
				starts = append(starts, m[2])
			}
		}
		if succeeded != 1 {
			t.Errorf("job %d (%s %s): %d \"succeeded\" lines in its log, want 1:\n%s", j.id, j.kind, j.resource, succeeded, strings.Join(logs[j.id], "\n"))
		}
		if len(starts) != j.attempts {
			t.Errorf("job %d: %d attempts, %d attempt lines in its log: %v", j.id, j.attempts, len(starts), logs[j.id])
		}
		h, wasHeld := held[j.id]
		if !wasHeld {
			if j.attempts != 1 {
				t.Errorf("job %d (%s %s) was not held by the killed worker but took %d attempts (workers %v)", j.id, j.kind, j.resource, j.attempts, starts)
			}
			if p := pidOf(j.worker); p != pidA && p != pidB {
				t.Errorf("job %d ran on worker %s, neither A (pid %d) nor B (pid %d)", j.id, j.worker, pidA, pidB)
			}
			continue
		}
		tookOver++
		if j.attempts != 2 {
			t.Errorf("job %d (%s %s) held by the killed worker: %d attempts, want 2 (workers %v)", j.id, j.kind, j.resource, j.attempts, starts)
		}
		if pidOf(j.worker) != pidB || (len(starts) == 2 && (starts[0] != nameA || starts[1] != j.worker)) {
			t.Errorf("job %d held by the killed worker %s: finished by %s, attempts by %v; want A then B (pid %d)", j.id, nameA, j.worker, starts, pidB)
		}
		// B may only claim the job once A's lease has expired: after the
		// lease A last wrote, and so no earlier than the kill plus the lease
		// less one heartbeat.
		if !j.started.After(h.lease) {
			t.Errorf("job %d: second attempt started at %s, while worker A's lease ran until %s: two workers held the job at once",
				j.id, j.started.Local().Format("15:04:05.000"), h.lease.Local().Format("15:04:05.000"))
		}
		if earliest := killTime.Add(twoWorkersLease - time.Second); j.started.Before(earliest) {
			t.Errorf("job %d: second attempt started at %s, %s after the kill, before the kill plus the lease less a heartbeat (%s)",
				j.id, j.started.Local().Format("15:04:05.000"), j.started.Sub(killTime).Round(time.Millisecond), earliest.Local().Format("15:04:05.000"))
		} else {
			t.Logf("job %d (%s %s) taken over by B %s after the kill (A's lease ended %s after it)",
				j.id, j.kind, j.resource, j.started.Sub(killTime).Round(time.Millisecond), h.lease.Sub(killTime).Round(time.Millisecond))
		}
	}
	if tookOver == 0 {
		t.Fatalf("no job was taken over from the killed worker (it held %v): the kill was not mid-job", heldIDs)
	}

	// Every resource ends ready: no status is left "running" by the killed
	// worker. (The watermarks are only logged: their bookkeeping is being
	// finished elsewhere.)
	rows, err = conn.Query(ctx, `SELECT kind, name, status, error, COALESCE(watermark::text, '-') FROM `+regSchema+`.resources ORDER BY kind, name`)
	if err != nil {
		t.Fatal(err)
	}
	var marks []string
	for rows.Next() {
		var kind, name, status, errText, mark string
		if err := rows.Scan(&kind, &name, &status, &errText, &mark); err != nil {
			t.Fatal(err)
		}
		if status != "ready" {
			t.Errorf("%s %s is %s after every job succeeded: %s", kind, name, status, errText)
		}
		if kind == "feature" {
			marks = append(marks, name+" "+mark)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	t.Logf("watermarks: %s", strings.Join(marks, ", "))

	// 6. The online store holds the latest value of every entity, per
	// feature, and nothing else.
	step = time.Now()
	on, err := onlineredis.New(ctx, onlineredis.Config{Addrs: []string{redisAddr}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	var refs, exprs []string
	for _, f := range features {
		refs = append(refs, f.name+":default")
		exprs = append(exprs, "max("+f.expr+")")
	}
	rows, err = conn.Query(ctx, fmt.Sprintf(`WITH newest AS (
			SELECT user_id, max(event_time) AS t FROM %[1]s.events
			WHERE user_id IS NOT NULL AND event_time IS NOT NULL GROUP BY user_id)
		SELECT n.user_id::text, n.t, %[2]s
		FROM %[1]s.events e JOIN newest n ON e.user_id = n.user_id AND e.event_time = n.t
		GROUP BY n.user_id, n.t`, data, strings.Join(exprs, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	var entities []string
	want := map[string][]online.Entry{}
	nulls := make([]int, len(features))
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		entity, ts := vals[0].(string), vals[1].(time.Time)
		entries := make([]online.Entry, len(features))
		for k, f := range features {
			e := online.Entry{Found: true, Timestamp: ts}
			switch x := vals[2+k].(type) {
			case nil:
				nulls[k]++
			case float64:
				e.Value = value.FromFloat64(x)
			case int64:
				e.Value = value.FromInt64(x)
			case string:
				e.Value = value.FromString(x)
			default:
				t.Fatalf("%s of entity %s: unexpected expected value %T %v", f.name, entity, x, x)
			}
			if !e.Value.IsNull() && e.Value.Type() != f.typ {
				t.Fatalf("%s of entity %s: expected value %v is %s, not %s", f.name, entity, e.Value, e.Value.Type(), f.typ)
			}
			entries[k] = e
		}
		entities = append(entities, entity)
		want[entity] = entries
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(entities) < twoWorkersEntities*9/10 {
		t.Fatalf("only %d entities have a latest value offline", len(entities))
	}
	wrong := make([]int, len(features))
	for i := 0; i < len(entities); i += 1000 {
		batch := entities[i:min(i+1000, len(entities))]
		got, err := on.Read(ctx, &online.ReadParams{Features: refs, Entities: batch})
		if err != nil {
			t.Fatal(err)
		}
		for n, e := range batch {
			for k := range features {
				g, w := got.Entries[n][k], want[e][k]
				if g.Found && g.Value.Equal(w.Value) && g.Timestamp.Equal(w.Timestamp) {
					continue
				}
				if wrong[k]++; wrong[k] <= 5 {
					t.Errorf("%s of entity %s: online found=%t %v at %s, want %v at %s",
						refs[k], e, g.Found, g.Value, g.Timestamp.UTC().Format(time.RFC3339), w.Value, w.Timestamp.UTC().Format(time.RFC3339))
				}
			}
		}
	}
	for k, ref := range refs {
		if wrong[k] > 0 {
			t.Errorf("%s: %d of %d entities wrong online", ref, wrong[k], len(entities))
		} else {
			t.Logf("%s: all %d entities online equal the latest offline value (%d of them null)", ref, len(entities), nulls[k])
		}
	}
	keys := 0
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if keys != len(entities) {
		t.Errorf("%d entity keys online, want one per entity with a latest value offline (%d)", keys, len(entities))
	}
	t.Logf("online check took %s; whole test %s", time.Since(step).Round(time.Millisecond), time.Since(testStart).Round(time.Millisecond))
}

// twoWorkersOutput collects a worker's output, written from two pipes' goroutines.
type twoWorkersOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *twoWorkersOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *twoWorkersOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
