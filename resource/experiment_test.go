package resource

import (
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/testenv"
)

// The bucket is documented with a Python snippet, so an application can
// assign entities itself: the snippet must agree with ExperimentBucket.
func TestExperimentBucketMatchesDocumentedPython(t *testing.T) {
	python := testenv.Python(t, "hashlib")
	keys := []string{"1", "42", "user_0007", "é-ü", ""}
	for i := 0; i < 50; i++ {
		keys = append(keys, strconv.Itoa(i*7919))
	}
	script := `import hashlib, sys
for e in sys.argv[2:]:
    h = int.from_bytes(hashlib.sha256(f"{sys.argv[1]}/{e}".encode()).digest()[:8], "big")
    print(repr((h >> 11) / 2**53))
`
	out, err := exec.Command(python, append([]string{"-c", script, "purchase_v2_test"}, keys...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(keys) {
		t.Fatalf("python printed %d buckets for %d keys:\n%s", len(lines), len(keys), out)
	}
	for i, k := range keys {
		want, err := strconv.ParseFloat(lines[i], 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := ExperimentBucket("purchase_v2_test", k); got != want {
			t.Errorf("bucket of %q: Go %v, Python %v", k, got, want)
		}
	}
}

func TestExperimentAssignFollowsWeights(t *testing.T) {
	spec := &ExperimentSpec{Arms: []ExperimentArm{{Name: "control", Weight: 70}, {Name: "a", Weight: 20}, {Name: "b", Weight: 10}}}
	const n = 100000
	counts := make([]int, len(spec.Arms))
	for i := range n {
		key := fmt.Sprintf("entity-%d", i)
		arm := spec.Assign("weights", key)
		if again := spec.Assign("weights", key); again != arm {
			t.Fatalf("entity %s assigned to arm %d, then %d", key, arm, again)
		}
		counts[arm]++
	}
	for i, a := range spec.Arms {
		p := a.Weight / 100
		// Five standard deviations of a binomial count.
		if sd := math.Sqrt(n * p * (1 - p)); math.Abs(float64(counts[i])-n*p) > 5*sd {
			t.Errorf("arm %s got %d of %d entities, want about %.0f", a.Name, counts[i], n, n*p)
		}
	}
	// Another experiment splits the same entities independently.
	same := 0
	for i := range 10000 {
		key := fmt.Sprintf("entity-%d", i)
		if spec.Assign("weights", key) == 0 && spec.Assign("other", key) == 0 {
			same++
		}
	}
	if want := 10000 * 0.7 * 0.7; math.Abs(float64(same)-want) > 5*math.Sqrt(want) {
		t.Errorf("%d entities in both experiments' controls, want about %.0f (independent hashes)", same, want)
	}
}
