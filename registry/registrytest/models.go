package registrytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/registry"
	"github.com/slipway-ml/slipway/resource"
)

// exerciseModels runs the model version and alias behaviours.
func exerciseModels(t *testing.T, open func(t *testing.T) registry.Store) {
	t.Run("Models", func(t *testing.T) {
		t.Run("VersionsNumberedPerModel", func(t *testing.T) { testModelVersionsNumbered(t, open(t)) })
		t.Run("RoundTrip", func(t *testing.T) { testModelVersionRoundTrip(t, open(t)) })
		t.Run("Immutable", func(t *testing.T) { testModelVersionImmutable(t, open(t)) })
		t.Run("StoreClock", func(t *testing.T) { testModelVersionStoreClock(t, open(t)) })
		t.Run("Checksum", func(t *testing.T) { testModelVersionChecksum(t, open(t)) })
		t.Run("InvalidIsRejected", func(t *testing.T) { testModelVersionInvalid(t, open(t)) })
		t.Run("SizeLimit", func(t *testing.T) { testModelVersionSizeLimit(t, open(t)) })
		t.Run("NotFound", func(t *testing.T) { testModelVersionNotFound(t, open(t)) })
		t.Run("Profile", func(t *testing.T) { testModelVersionProfile(t, open(t)) })
		t.Run("ListNewestFirstAndLimit", func(t *testing.T) { testModelVersionList(t, open(t)) })
		t.Run("ConcurrentCreates", func(t *testing.T) {
			s := open(t)
			testConcurrentModelVersions(t, []registry.Store{s, s, s, s})
		})
	})
	t.Run("ModelAliases", func(t *testing.T) {
		t.Run("CreateMoveHistory", func(t *testing.T) { testModelAliasHistory(t, open(t)) })
		t.Run("CompareAndSet", func(t *testing.T) { testModelAliasCompareAndSet(t, open(t)) })
		t.Run("MissingVersionIsNotFound", func(t *testing.T) { testModelAliasMissingVersion(t, open(t)) })
		t.Run("InvalidIsRejected", func(t *testing.T) { testModelAliasInvalid(t, open(t)) })
		t.Run("ConcurrentPromotes", func(t *testing.T) {
			s := open(t)
			testConcurrentPromotes(t, []registry.Store{s, s, s, s})
		})
		t.Run("ConcurrentCreates", func(t *testing.T) {
			s := open(t)
			testConcurrentAliasCreates(t, []registry.Store{s, s, s, s})
		})
	})
}

// exerciseSharedModels runs the concurrent model cases on stores of several
// processes on one registry.
func exerciseSharedModels(t *testing.T, stores func(t *testing.T, n int) []registry.Store) {
	t.Run("Shared/ConcurrentModelVersions", func(t *testing.T) { testConcurrentModelVersions(t, stores(t, 2)) })
	t.Run("Shared/ConcurrentPromotes", func(t *testing.T) { testConcurrentPromotes(t, stores(t, 2)) })
	t.Run("Shared/ConcurrentAliasCreates", func(t *testing.T) { testConcurrentAliasCreates(t, stores(t, 2)) })
}

var modelEpoch = time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)

func modelParams(model string, artifact string) *registry.CreateModelVersionParams {
	return &registry.CreateModelVersionParams{
		Model:    model,
		Artifact: registry.Artifact{Format: "xgboost-json", Bytes: []byte(artifact)},
		By:       "ana@example.com",
		Now:      modelEpoch,
	}
}

func createVersion(t *testing.T, s registry.Store, p *registry.CreateModelVersionParams) *registry.ModelVersion {
	t.Helper()
	v, err := s.CreateModelVersion(t.Context(), p)
	if err != nil {
		t.Fatalf("CreateModelVersion(%s): %v", p.Model, err)
	}
	return v
}

func getVersion(t *testing.T, s registry.Store, model string, version int) *registry.ModelVersion {
	t.Helper()
	v, err := s.GetModelVersion(t.Context(), model, version)
	if err != nil {
		t.Fatalf("GetModelVersion(%s, %d): %v", model, version, err)
	}
	return v
}

func setAlias(t *testing.T, s registry.Store, p *registry.SetModelAliasParams) *registry.ModelAlias {
	t.Helper()
	a, err := s.SetModelAlias(t.Context(), p)
	if err != nil {
		t.Fatalf("SetModelAlias(%s %s -> %d): %v", p.Model, p.Alias, p.Version, err)
	}
	return a
}

func aliasHistory(t *testing.T, s registry.Store, model, alias string) []registry.ModelAliasMove {
	t.Helper()
	h, err := s.ModelAliasHistory(t.Context(), model, alias)
	if err != nil {
		t.Fatalf("ModelAliasHistory(%s, %s): %v", model, alias, err)
	}
	out := make([]registry.ModelAliasMove, len(h))
	for i, m := range h {
		out[i] = *m
	}
	return out
}

func listVersions(t *testing.T, s registry.Store, p *registry.ListModelVersionsParams) []int {
	t.Helper()
	vs, err := s.ListModelVersions(t.Context(), p)
	if err != nil {
		t.Fatalf("ListModelVersions(%+v): %v", p, err)
	}
	var out []int
	for _, v := range vs {
		out = append(out, v.Version)
	}
	return out
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func intp(n int) *int { return &n }

func testModelVersionsNumbered(t *testing.T, s registry.Store) {
	for i := 1; i <= 3; i++ {
		if v := createVersion(t, s, modelParams("churn", fmt.Sprint("model ", i))); v.Version != i {
			t.Fatalf("version %d of churn was numbered %d", i, v.Version)
		}
	}
	if v := createVersion(t, s, modelParams("purchase", "other")); v.Version != 1 {
		t.Errorf("first version of a second model was numbered %d, want 1 (numbers are per model)", v.Version)
	}
	if v := createVersion(t, s, modelParams("churn", "model 4")); v.Version != 4 {
		t.Errorf("fourth version of churn was numbered %d, want 4", v.Version)
	}
	for i := 1; i <= 4; i++ {
		if got := getVersion(t, s, "churn", i); string(got.Artifact.Bytes) != fmt.Sprint("model ", i) {
			t.Errorf("churn version %d holds %q", i, got.Artifact.Bytes)
		}
	}
}

// fullParams sets every field, with values a careless encoding would lose:
// every byte value in the artifact, a time zone, sub-second times, floats
// that need all their digits, JSON whitespace.
func fullParams() *registry.CreateModelVersionParams {
	art := make([]byte, 1<<20+3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range art {
		art[i] = byte(r.UintN(256))
	}
	copy(art, []byte{0, 0xff, '\'', '"', '\\', 0})
	zone := time.FixedZone("UTC-5", -5*3600)
	return &registry.CreateModelVersionParams{
		Model:        "purchase_model",
		Artifact:     registry.Artifact{Format: "xgboost-json", Bytes: art},
		TrainingSet:  resource.ID{Kind: resource.KindTrainingSet, Name: "purchase_propensity", Variant: "v2"},
		TrainingRows: 1<<40 + 7,
		LabelStart:   time.Date(2025, 1, 2, 3, 4, 5, 678901000, zone),
		LabelEnd:     time.Date(2026, 2, 3, 4, 5, 6, 789012000, zone),
		Metrics:      map[string]float64{"auc": 0.8123456789012345, "log_loss": 1e-300, "rmse": 12345678.9, "zero": 0},
		Encoding:     []byte(`{"features": [ {"name":"age", "kind":"number"} ],  "missing": null}`),
		Trainer:      "builtin:logistic_regression",
		By:           "ana@example.com",
		Now:          time.Date(2026, 3, 4, 5, 6, 7, 891234000, zone),
	}
}

func requireVersion(t *testing.T, what string, got *registry.ModelVersion, p *registry.CreateModelVersionParams, version int, withBytes bool) {
	t.Helper()
	if got.Model != p.Model || got.Version != version {
		t.Errorf("%s: version %s %d, want %s %d", what, got.Model, got.Version, p.Model, version)
	}
	if got.Artifact.Format != p.Artifact.Format || got.Artifact.SHA256 != hexSHA256(p.Artifact.Bytes) ||
		got.Artifact.Size != int64(len(p.Artifact.Bytes)) {
		t.Errorf("%s: artifact %s, sha256 %s, %d bytes; want %s, %s, %d bytes", what, got.Artifact.Format, got.Artifact.SHA256,
			got.Artifact.Size, p.Artifact.Format, hexSHA256(p.Artifact.Bytes), len(p.Artifact.Bytes))
	}
	if withBytes && !bytes.Equal(got.Artifact.Bytes, p.Artifact.Bytes) {
		t.Errorf("%s: artifact bytes differ (%d bytes, sha256 %s)", what, len(got.Artifact.Bytes), hexSHA256(got.Artifact.Bytes))
	}
	if !withBytes && got.Artifact.Bytes != nil {
		t.Errorf("%s: artifact bytes returned (%d bytes), want none", what, len(got.Artifact.Bytes))
	}
	if got.TrainingSet != p.TrainingSet || got.TrainingRows != p.TrainingRows {
		t.Errorf("%s: training set %s with %d rows, want %s with %d", what, got.TrainingSet, got.TrainingRows, p.TrainingSet, p.TrainingRows)
	}
	if !got.LabelStart.Equal(p.LabelStart) || !got.LabelEnd.Equal(p.LabelEnd) {
		t.Errorf("%s: label range %v to %v, want %v to %v", what, got.LabelStart, got.LabelEnd, p.LabelStart, p.LabelEnd)
	}
	if len(got.Metrics) != len(p.Metrics) {
		t.Errorf("%s: metrics %v, want %v", what, got.Metrics, p.Metrics)
	}
	for k, want := range p.Metrics {
		if g, ok := got.Metrics[k]; !ok || math.Float64bits(g) != math.Float64bits(want) {
			t.Errorf("%s: metric %s = %v (present %v), want %v", what, k, g, ok, want)
		}
	}
	if !bytes.Equal(got.Encoding, p.Encoding) {
		t.Errorf("%s: encoding %s, want %s verbatim", what, got.Encoding, p.Encoding)
	}
	if got.Trainer != p.Trainer || got.CreatedBy != p.By {
		t.Errorf("%s: trainer %q by %q, want %q by %q", what, got.Trainer, got.CreatedBy, p.Trainer, p.By)
	}
	if !got.CreatedAt.Equal(p.Now) {
		t.Errorf("%s: created at %v, want %v", what, got.CreatedAt, p.Now)
	}
}

func testModelVersionRoundTrip(t *testing.T, s registry.Store) {
	p := fullParams()
	p.Artifact.SHA256 = hexSHA256(p.Artifact.Bytes)
	created := createVersion(t, s, p)
	requireVersion(t, "created", created, p, 1, true)
	requireVersion(t, "read", getVersion(t, s, p.Model, 1), p, 1, true)
	vs, err := s.ListModelVersions(t.Context(), &registry.ListModelVersionsParams{Model: p.Model})
	if err != nil || len(vs) != 1 {
		t.Fatalf("ListModelVersions = %d versions, %v; want 1", len(vs), err)
	}
	requireVersion(t, "listed", vs[0], p, 1, false)

	// The fewest fields: no training set, label range, metrics or encoding.
	min := modelParams(p.Model, "m")
	requireVersion(t, "minimal read", getVersion(t, s, p.Model, createVersion(t, s, min).Version), min, 2, true)
	if got := getVersion(t, s, p.Model, 2); got.Metrics != nil || got.Encoding != nil || !got.LabelStart.IsZero() {
		t.Errorf("minimal version read back metrics %v, encoding %q, label start %v; want none", got.Metrics, got.Encoding, got.LabelStart)
	}
}

func testModelVersionImmutable(t *testing.T, s registry.Store) {
	p := fullParams()
	want := fullParams()
	v1 := createVersion(t, s, p)
	// Changing what was passed in or what came back changes nothing stored.
	p.Artifact.Bytes[10] ^= 0xff
	p.Metrics["auc"] = 0.1
	p.Encoding[1] = 'X'
	v1.Artifact.Bytes[11] ^= 0xff
	v1.Metrics["auc"] = 0.2
	v1.Encoding[2] = 'Y'
	// Later versions and alias moves leave it as it was.
	next := fullParams()
	next.Artifact.Bytes = []byte("second")
	next.Metrics = map[string]float64{"auc": 0.9}
	next.Trainer = "command"
	createVersion(t, s, next)
	setAlias(t, s, &registry.SetModelAliasParams{Model: p.Model, Alias: "production", Version: 1, Now: modelEpoch})
	setAlias(t, s, &registry.SetModelAliasParams{Model: p.Model, Alias: "production", Version: 2, Now: modelEpoch})
	requireVersion(t, "version 1 after changes around it", getVersion(t, s, p.Model, 1), want, 1, true)
}

func testModelVersionStoreClock(t *testing.T, s registry.Store) {
	p := modelParams("churn", "m")
	p.Now = time.Time{}
	v := createVersion(t, s, p)
	got := getVersion(t, s, "churn", v.Version)
	if got.CreatedAt.IsZero() || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("created at %v, read back %v; want the store's clock, the same both times", v.CreatedAt, got.CreatedAt)
	}
	if d := time.Since(got.CreatedAt); d < -time.Minute || d > time.Minute {
		t.Errorf("created at %v, %v from now; want the store's clock", got.CreatedAt, d)
	}
}

func testModelVersionChecksum(t *testing.T, s registry.Store) {
	p := modelParams("churn", "model bytes")
	p.Artifact.SHA256 = hexSHA256([]byte("other bytes"))
	_, err := s.CreateModelVersion(t.Context(), p)
	if !errors.Is(err, registry.ErrArtifactChecksum) {
		t.Fatalf("a wrong sha256: %v, want ErrArtifactChecksum", err)
	}
	p.Artifact.SHA256 = strings.ToUpper(hexSHA256(p.Artifact.Bytes))
	if v := createVersion(t, s, p); v.Version != 1 || v.Artifact.SHA256 != hexSHA256(p.Artifact.Bytes) {
		t.Errorf("after a refused create: version %d with sha256 %s, want 1 (the refused one took no number) with the lower-case digest",
			v.Version, v.Artifact.SHA256)
	}
}

func testModelVersionInvalid(t *testing.T, s registry.Store) {
	cases := map[string]func(p *registry.CreateModelVersionParams){
		"invalid model name":   func(p *registry.CreateModelVersionParams) { p.Model = "Churn Model" },
		"empty model name":     func(p *registry.CreateModelVersionParams) { p.Model = "" },
		"empty artifact":       func(p *registry.CreateModelVersionParams) { p.Artifact.Bytes = nil },
		"no format":            func(p *registry.CreateModelVersionParams) { p.Artifact.Format = "" },
		"NaN metric":           func(p *registry.CreateModelVersionParams) { p.Metrics = map[string]float64{"auc": math.NaN()} },
		"infinite metric":      func(p *registry.CreateModelVersionParams) { p.Metrics = map[string]float64{"rmse": math.Inf(1)} },
		"encoding not JSON":    func(p *registry.CreateModelVersionParams) { p.Encoding = []byte(`{"features": [`) },
		"label range reversed": func(p *registry.CreateModelVersionParams) { p.LabelStart = p.LabelEnd.Add(time.Second) },
		"negative rows":        func(p *registry.CreateModelVersionParams) { p.TrainingRows = -1 },
		"training set is a feature": func(p *registry.CreateModelVersionParams) {
			p.TrainingSet = resource.ID{Kind: resource.KindFeature, Name: "age", Variant: resource.DefaultVariant}
		},
	}
	for name, change := range cases {
		p := fullParams()
		change(p)
		if v, err := s.CreateModelVersion(t.Context(), p); err == nil {
			t.Errorf("%s: created version %d, want an error", name, v.Version)
		}
	}
	if _, err := s.CreateModelVersion(t.Context(), nil); err == nil {
		t.Error("nil params: no error")
	}
	if got := listVersions(t, s, &registry.ListModelVersionsParams{Model: fullParams().Model}); len(got) != 0 {
		t.Errorf("refused creates recorded versions %v", got)
	}
}

func testModelVersionSizeLimit(t *testing.T, s registry.Store) {
	p := modelParams("big", "")
	// Fresh zeroed memory: the store must refuse it before reading it.
	p.Artifact.Bytes = make([]byte, registry.MaxArtifactBytes+1)
	_, err := s.CreateModelVersion(t.Context(), p)
	if !errors.Is(err, registry.ErrArtifactTooLarge) {
		t.Fatalf("an artifact of MaxArtifactBytes+1: %v, want ErrArtifactTooLarge", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(registry.MaxArtifactBytes)) {
		t.Errorf("error %q does not name the limit (%d bytes)", err, registry.MaxArtifactBytes)
	}
	p.Artifact.Bytes = nil
	// A large artifact well under the limit goes through whole.
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	p.Artifact.Bytes = big
	v := createVersion(t, s, p)
	if v.Version != 1 {
		t.Errorf("after a refused create: version %d, want 1", v.Version)
	}
	if got := getVersion(t, s, "big", 1); !bytes.Equal(got.Artifact.Bytes, big) {
		t.Errorf("an 8 MiB artifact read back as %d bytes, sha256 %s; want sha256 %s", len(got.Artifact.Bytes),
			hexSHA256(got.Artifact.Bytes), hexSHA256(big))
	}
}

func testModelVersionNotFound(t *testing.T, s registry.Store) {
	if _, err := s.GetModelVersion(t.Context(), "churn", 1); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown model: %v, want ErrNotFound", err)
	}
	createVersion(t, s, modelParams("churn", "m"))
	for _, v := range []int{0, 2, -1} {
		if _, err := s.GetModelVersion(t.Context(), "churn", v); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("version %d: %v, want ErrNotFound", v, err)
		}
	}
}

// testModelVersionProfile: a version's baseline profile is stored with it
// and read back as written; a version without one, or none, is
// ErrNotFound; a profile that is not JSON refuses the whole version.
func testModelVersionProfile(t *testing.T, s registry.Store) {
	profile := `{"features":{"rows":3,"columns":[{"name":"opens_30d","kind":"numeric","rows":3,"nulls":1,"count":2,"exact":[1,2.5]}]}}`
	p := modelParams("churn", "m1")
	p.Profile = json.RawMessage(profile)
	v := createVersion(t, s, p)
	got, err := s.ModelVersionProfile(t.Context(), "churn", v.Version)
	if err != nil || string(got) != profile {
		t.Fatalf("ModelVersionProfile: %s, %v; want %s", got, err, profile)
	}
	plain := createVersion(t, s, modelParams("churn", "m2"))
	for _, version := range []int{plain.Version, 3} {
		if _, err := s.ModelVersionProfile(t.Context(), "churn", version); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("profile of version %d: %v, want ErrNotFound", version, err)
		}
	}
	bad := modelParams("churn", "m3")
	bad.Profile = json.RawMessage(`{"features":`)
	if _, err := s.CreateModelVersion(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "the profile is not valid JSON") {
		t.Fatalf("a profile that is not JSON: %v", err)
	}
	if got := listVersions(t, s, &registry.ListModelVersionsParams{Model: "churn"}); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("versions after the refused one: %v, want [2 1]", got)
	}
}

func testModelVersionList(t *testing.T, s registry.Store) {
	for i := 1; i <= 5; i++ {
		createVersion(t, s, modelParams("churn", strings.Repeat("x", i)))
		if i <= 2 {
			createVersion(t, s, modelParams("churn_v", "other"))
		}
	}
	if got, want := listVersions(t, s, &registry.ListModelVersionsParams{Model: "churn"}), []int{5, 4, 3, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("listed versions %v, want %v", got, want)
	}
	if got, want := listVersions(t, s, &registry.ListModelVersionsParams{Model: "churn", Limit: 2}), []int{5, 4}; !slices.Equal(got, want) {
		t.Errorf("listed versions with limit 2: %v, want %v", got, want)
	}
	if got := listVersions(t, s, &registry.ListModelVersionsParams{Model: "churn_v"}); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("second model listed %v, want [2 1]", got)
	}
	models, err := s.ListModels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []registry.ModelInfo{{Model: "churn", LatestVersion: 5}, {Model: "churn_v", LatestVersion: 2}}; !slices.Equal(models, want) {
		t.Errorf("ListModels = %v, want %v", models, want)
	}
	if got := listVersions(t, s, &registry.ListModelVersionsParams{Model: "unknown"}); len(got) != 0 {
		t.Errorf("unknown model listed %v, want none", got)
	}
	vs, err := s.ListModelVersions(t.Context(), &registry.ListModelVersionsParams{Model: "churn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Artifact.Bytes != nil || v.Artifact.Size != int64(v.Version) || v.Artifact.SHA256 != hexSHA256([]byte(strings.Repeat("x", v.Version))) {
			t.Errorf("listed version %d: %d bytes returned, size %d, sha256 %s; want no bytes, its size and digest",
				v.Version, len(v.Artifact.Bytes), v.Artifact.Size, v.Artifact.SHA256)
		}
	}
}

// testConcurrentModelVersions creates versions of one model from several
// stores at once: the numbers are distinct and consecutive from 1, and
// each number holds the artifact of the create that got it.
func testConcurrentModelVersions(t *testing.T, stores []registry.Store) {
	const perStore = 6
	var (
		mu  sync.Mutex
		got = map[int]string{}
		wg  sync.WaitGroup
	)
	for i, s := range stores {
		wg.Go(func() {
			for j := range perStore {
				art := fmt.Sprintf("store %d model %d", i, j)
				v, err := s.CreateModelVersion(context.Background(), modelParams("churn", art))
				if err != nil {
					t.Errorf("store %d create %d: %v", i, j, err)
					return
				}
				mu.Lock()
				if prev, dup := got[v.Version]; dup {
					t.Errorf("version %d given twice (%q and %q)", v.Version, prev, art)
				}
				got[v.Version] = art
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n := len(stores) * perStore
	for v := 1; v <= n; v++ {
		art, ok := got[v]
		if !ok {
			t.Errorf("version %d never given (got %d versions for %d creates)", v, len(got), n)
			continue
		}
		if read := getVersion(t, stores[0], "churn", v); string(read.Artifact.Bytes) != art {
			t.Errorf("version %d holds %q, want %q", v, read.Artifact.Bytes, art)
		}
	}
	if vs := listVersions(t, stores[len(stores)-1], &registry.ListModelVersionsParams{Model: "churn"}); len(vs) != n || vs[0] != n {
		t.Errorf("listed %v, want %d versions newest first", vs, n)
	}
}

func testModelAliasHistory(t *testing.T, s registry.Store) {
	for range 3 {
		createVersion(t, s, modelParams("churn", "m"))
	}
	t1, t2, t3 := modelEpoch, modelEpoch.Add(time.Hour), modelEpoch.Add(25*time.Hour+time.Microsecond)
	if _, err := s.GetModelAlias(t.Context(), "churn", "production"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("alias before it is set: %v, want ErrNotFound", err)
	}
	a := setAlias(t, s, &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 1, By: "ana", Now: t1})
	want := registry.ModelAlias{Model: "churn", Alias: "production", Version: 1, UpdatedBy: "ana", UpdatedAt: t1}
	if *a != want {
		t.Errorf("created alias %+v, want %+v", *a, want)
	}
	setAlias(t, s, &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 3, By: "ben", Now: t2})
	setAlias(t, s, &registry.SetModelAliasParams{Model: "churn", Alias: "staging", Version: 2, By: "ben", Now: t2})
	// A rollback is a move like any other.
	setAlias(t, s, &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 1, By: "cid", Now: t3})
	// Setting the version it points at records nothing.
	same := setAlias(t, s, &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 1, By: "dan", Now: t3.Add(time.Hour)})
	want = registry.ModelAlias{Model: "churn", Alias: "production", Version: 1, UpdatedBy: "cid", UpdatedAt: t3}
	if *same != want {
		t.Errorf("alias set to its own version: %+v, want it unchanged %+v", *same, want)
	}
	got, err := s.GetModelAlias(t.Context(), "churn", "production")
	if err != nil || *got != want {
		t.Fatalf("GetModelAlias = %+v, %v; want %+v", got, err, want)
	}
	wantHistory := []registry.ModelAliasMove{
		{Model: "churn", Alias: "production", From: 0, To: 1, By: "ana", At: t1},
		{Model: "churn", Alias: "production", From: 1, To: 3, By: "ben", At: t2},
		{Model: "churn", Alias: "production", From: 3, To: 1, By: "cid", At: t3},
	}
	if h := aliasHistory(t, s, "churn", "production"); !reflect.DeepEqual(h, wantHistory) {
		t.Errorf("history\n got  %+v\n want %+v", h, wantHistory)
	}
	if h := aliasHistory(t, s, "churn", "staging"); len(h) != 1 || h[0].To != 2 {
		t.Errorf("staging history %+v, want one move to 2", h)
	}
	if h := aliasHistory(t, s, "churn", "unknown"); len(h) != 0 {
		t.Errorf("unknown alias history %+v, want none", h)
	}
	as, err := s.ListModelAliases(t.Context(), "churn")
	if err != nil || len(as) != 2 || as[0].Alias != "production" || as[0].Version != 1 || as[1].Alias != "staging" || as[1].Version != 2 {
		t.Errorf("ListModelAliases = %v, %v; want production at 1, staging at 2", as, err)
	}
}

func testModelAliasCompareAndSet(t *testing.T, s registry.Store) {
	for range 3 {
		createVersion(t, s, modelParams("churn", "m"))
	}
	set := func(version int, expect *int) error {
		_, err := s.SetModelAlias(t.Context(), &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: version, Expect: expect, Now: modelEpoch})
		return err
	}
	if err := set(1, intp(2)); !errors.Is(err, registry.ErrAliasMoved) {
		t.Errorf("expecting version 2 of a missing alias: %v, want ErrAliasMoved", err)
	}
	if err := set(1, intp(0)); err != nil {
		t.Fatalf("expecting no alias: %v", err)
	}
	if err := set(2, intp(0)); !errors.Is(err, registry.ErrAliasMoved) {
		t.Errorf("expecting no alias when it exists: %v, want ErrAliasMoved", err)
	}
	if err := set(2, intp(1)); err != nil {
		t.Fatalf("expecting version 1: %v", err)
	}
	if err := set(3, intp(1)); !errors.Is(err, registry.ErrAliasMoved) {
		t.Errorf("expecting version 1 after it moved to 2: %v, want ErrAliasMoved", err)
	}
	if a, err := s.GetModelAlias(t.Context(), "churn", "production"); err != nil || a.Version != 2 {
		t.Errorf("after a refused move the alias is %+v, %v; want version 2", a, err)
	}
	if h := aliasHistory(t, s, "churn", "production"); len(h) != 2 || h[1].From != 1 || h[1].To != 2 {
		t.Errorf("history %+v, want 0->1, 1->2 (refused moves record nothing)", h)
	}
	if err := set(3, nil); err != nil {
		t.Errorf("an unconditional move: %v", err)
	}
}

func testModelAliasMissingVersion(t *testing.T, s registry.Store) {
	if _, err := s.SetModelAlias(t.Context(), &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 1}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("alias of an unknown model: %v, want ErrNotFound", err)
	}
	createVersion(t, s, modelParams("churn", "m"))
	if _, err := s.SetModelAlias(t.Context(), &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 2, Expect: intp(0)}); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("alias to a missing version: %v, want ErrNotFound", err)
	}
	if _, err := s.GetModelAlias(t.Context(), "churn", "production"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("alias after refused sets: %v, want ErrNotFound", err)
	}
	if h := aliasHistory(t, s, "churn", "production"); len(h) != 0 {
		t.Errorf("refused sets recorded %+v", h)
	}
}

func testModelAliasInvalid(t *testing.T, s registry.Store) {
	createVersion(t, s, modelParams("churn", "m"))
	for name, p := range map[string]*registry.SetModelAliasParams{
		"invalid alias":    {Model: "churn", Alias: "Prod!", Version: 1},
		"empty alias":      {Model: "churn", Version: 1},
		"invalid model":    {Model: "Churn", Alias: "production", Version: 1},
		"version 0":        {Model: "churn", Alias: "production", Version: 0},
		"negative expect":  {Model: "churn", Alias: "production", Version: 1, Expect: intp(-1)},
		"nil params (nil)": nil,
	} {
		if _, err := s.SetModelAlias(t.Context(), p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if as, err := s.ListModelAliases(t.Context(), "churn"); err != nil || len(as) != 0 {
		t.Errorf("refused sets left aliases %v, %v", as, err)
	}
}

// testConcurrentPromotes moves one alias from several stores at once, each
// to its own version and each expecting the version it points at: exactly
// one wins, the others fail with ErrAliasMoved, and the alias and its
// history show the winner's move alone.
func testConcurrentPromotes(t *testing.T, stores []registry.Store) {
	s0 := stores[0]
	for range len(stores) + 1 {
		createVersion(t, s0, modelParams("churn", "m"))
	}
	setAlias(t, s0, &registry.SetModelAliasParams{Model: "churn", Alias: "production", Version: 1, Now: modelEpoch})
	const rounds = 5
	for round := range rounds {
		cur, err := s0.GetModelAlias(t.Context(), "churn", "production")
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu     sync.Mutex
			winner []int
			wg     sync.WaitGroup
			start  = make(chan struct{})
		)
		for i, s := range stores {
			// Each store promotes a version other than the current one.
			target := (cur.Version+i)%(len(stores)+1) + 1
			wg.Go(func() {
				<-start
				_, err := s.SetModelAlias(context.Background(), &registry.SetModelAliasParams{
					Model: "churn", Alias: "production", Version: target, Expect: intp(cur.Version),
					By: fmt.Sprint("store ", i), Now: modelEpoch.Add(time.Duration(round+1) * time.Minute),
				})
				switch {
				case err == nil:
					mu.Lock()
					winner = append(winner, target)
					mu.Unlock()
				case !errors.Is(err, registry.ErrAliasMoved):
					t.Errorf("round %d store %d: %v, want success or ErrAliasMoved", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winner) != 1 {
			t.Fatalf("round %d: %d promotes expecting version %d won (%v), want exactly one", round, len(winner), cur.Version, winner)
		}
		if a, err := stores[len(stores)-1].GetModelAlias(t.Context(), "churn", "production"); err != nil || a.Version != winner[0] {
			t.Fatalf("round %d: alias %+v, %v; want the winner's version %d", round, a, err, winner[0])
		}
	}
	h := aliasHistory(t, s0, "churn", "production")
	if len(h) != rounds+1 {
		t.Fatalf("history has %d moves, want %d (creation and one per round)", len(h), rounds+1)
	}
	for i := 1; i < len(h); i++ {
		if h[i].From != h[i-1].To {
			t.Errorf("move %d goes from %d, but the move before went to %d", i, h[i].From, h[i-1].To)
		}
	}
}

// testConcurrentAliasCreates creates one alias from several stores at once,
// each expecting it not to exist: exactly one creates it.
func testConcurrentAliasCreates(t *testing.T, stores []registry.Store) {
	for range len(stores) {
		createVersion(t, stores[0], modelParams("churn", "m"))
	}
	for round := range 3 {
		alias := fmt.Sprint("alias_", round)
		var (
			mu    sync.Mutex
			wins  []int
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i, s := range stores {
			wg.Go(func() {
				<-start
				_, err := s.SetModelAlias(context.Background(), &registry.SetModelAliasParams{
					Model: "churn", Alias: alias, Version: i + 1, Expect: intp(0), Now: modelEpoch,
				})
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, i+1)
					mu.Unlock()
				case !errors.Is(err, registry.ErrAliasMoved):
					t.Errorf("round %d store %d: %v, want success or ErrAliasMoved", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("round %d: %d creates won (%v), want exactly one", round, len(wins), wins)
		}
		if h := aliasHistory(t, stores[0], "churn", alias); len(h) != 1 || h[0].From != 0 || h[0].To != wins[0] {
			t.Errorf("round %d: history %+v, want one move 0 -> %d", round, h, wins[0])
		}
	}
}
