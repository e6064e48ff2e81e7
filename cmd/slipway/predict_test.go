package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// predictAnswer is the API's prediction answer, as `slipway predict --json`
// prints it.
type predictAnswer struct {
	Endpoint    string   `json:"endpoint"`
	Model       string   `json:"model"`
	Alias       string   `json:"alias"`
	Version     int      `json:"version"`
	Task        string   `json:"task"`
	Features    []string `json:"features"`
	Predictions []struct {
		ID            string   `json:"id"`
		Entity        string   `json:"entity"`
		Model         string   `json:"model"`
		Version       int      `json:"version"`
		Probability   *float64 `json:"probability"`
		Class         *int     `json:"class"`
		Missing       []string `json:"missing"`
		OutsideMaxAge []string `json:"outside_max_age"`
	} `json:"predictions"`
}

// predictionIDs matches the prediction ids of --json output, new for
// every prediction.
var predictionIDs = regexp.MustCompile(`"id": "[0-9a-f-]{36}"`)

// TestPredictCommand: `slipway predict` on the quickstart's endpoint prints
// the same on the stores directly and through a running server (errors
// too), and the curl the quickstart prints asks the server for the
// prediction the quickstart printed.
func TestPredictCommand(t *testing.T) {
	dir := t.TempDir()
	qs := mustRun(t, dir, "quickstart", "--scale", "0.2", "--seed", "7")
	m := regexp.MustCompile(`endpoint purchase \(purchase_model@production, version 1\): probability of an order within 7 days ([0-9.]+)`).FindStringSubmatch(qs.stdout)
	curl := regexp.MustCompile(`curl -s localhost:8080/v1/endpoints/purchase/predict -d '(.*)'`).FindStringSubmatch(qs.stdout)
	sample := regexp.MustCompile(`slipway --data-dir \S+ predict purchase (sub_\d+)\n`).FindStringSubmatch(qs.stdout)
	if m == nil || curl == nil || sample == nil || !strings.Contains(qs.stdout, "[7/7]") {
		t.Fatalf("the quickstart does not print the sample's prediction, the predict command and the curl for it:\n%s", qs.stdout)
	}
	subscriber := sample[1]
	other := firstSubscriber(t, dir)

	runs := [][]string{
		{"predict", "purchase", subscriber, other, "sub_does_not_exist"},
		{"predict", "purchase:default", subscriber, "--set", "opens_30d=40", "--set", "signup_channel=referral", "--set", "avg_order_value=12"},
		{"predict", "purchase", subscriber, other, "--json"},
	}
	failures := [][]string{
		{"predict", "nope", subscriber},
		{"predict", "purchase", subscriber, "--set", "opens_30d=many"},
		{"predict", "purchase", subscriber, "--set", "shop_plan=pro"},
		{"predict", "Purchase", subscriber},
	}
	mask := func(s string) string { return predictionIDs.ReplaceAllString(s, `"id": "…"`) }
	direct := map[string]result{}
	for _, args := range append(runs, failures...) {
		direct[strings.Join(args, " ")] = slipway(t, dir, args...)
	}

	text := direct[strings.Join(runs[0], " ")]
	if text.code != 0 || !strings.HasPrefix(text.stdout, "endpoint purchase:default: model purchase_model@production, version 1 (binary_classification)\n") ||
		!strings.Contains(text.stdout, "ENTITY") || !strings.Contains(text.stdout, "PROBABILITY") || !strings.Contains(text.stdout, subscriber+" ") {
		t.Fatalf("predict:\n%s%s", text.stdout, text.stderr)
	}
	if row := regexp.MustCompile(`(?m)^` + subscriber + `\s+(\S+)\s+[01]\s`).FindStringSubmatch(text.stdout); row == nil || !samePrinted(row[1], m[1]) {
		t.Errorf("predict prints %v for %s; the quickstart printed %s:\n%s", row, subscriber, m[1], text.stdout)
	}
	if !regexp.MustCompile(`(?m)^sub_does_not_exist\s.*opens_30d,clicks_30d`).MatchString(text.stdout) {
		t.Errorf("an unknown subscriber's features are not printed as missing:\n%s", text.stdout)
	}
	if set := direct[strings.Join(runs[1], " ")]; set.code != 0 || set.stdout == text.stdout {
		t.Errorf("predict --set: exit %d\n%s%s", set.code, set.stdout, set.stderr)
	}
	var js predictAnswer
	decodeStrictJSON(t, direct[strings.Join(runs[2], " ")], &js)
	if js.Endpoint != "purchase:default" || js.Version != 1 || len(js.Predictions) != 2 || js.Predictions[0].Entity != subscriber ||
		js.Predictions[0].Probability == nil || !samePrinted(strconv.FormatFloat(*js.Predictions[0].Probability, 'f', 4, 64), m[1]) || js.Predictions[0].ID == "" {
		t.Errorf("predict --json: %+v", js)
	}
	for _, args := range failures {
		if r := direct[strings.Join(args, " ")]; r.code != 1 || r.stderr == "" {
			t.Errorf("slipway %s: exit %d, stderr %q; want exit 1 saying why", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	for args, want := range map[string]string{
		"predict nope " + subscriber:                               "unknown endpoint: nope:default is not registered",
		"predict purchase " + subscriber + " --set opens_30d=many": "features: opens_30d: the feature is int64, and many is a string",
		"predict purchase " + subscriber + " --set shop_plan=pro":  `"shop_plan" is not a feature of model purchase_model`,
	} {
		if !strings.Contains(direct[args].stderr, want) {
			t.Errorf("slipway %s: stderr %q; want it to say %q", args, direct[args].stderr, want)
		}
	}

	base, _ := startServe(t, dir)
	for _, args := range runs {
		key := strings.Join(args, " ")
		got := mustRun(t, dir, args...)
		if mask(got.stdout) != mask(direct[key].stdout) {
			t.Errorf("slipway %s through the server printed\n%s\nwithout it:\n%s", key, got.stdout, direct[key].stdout)
		}
	}
	for _, args := range failures {
		key := strings.Join(args, " ")
		if got := slipway(t, dir, args...); got.code != direct[key].code || got.stderr != direct[key].stderr {
			t.Errorf("slipway %s through the server: exit %d %q; without it: exit %d %q", key, got.code, got.stderr, direct[key].code, direct[key].stderr)
		}
	}

	// The quickstart's curl, sent to the server it says to start.
	status, b := post(t, base+"/v1/endpoints/purchase/predict", curl[1])
	var a predictAnswer
	if status != http.StatusOK || json.Unmarshal(b, &a) != nil || len(a.Predictions) != 1 || a.Predictions[0].Probability == nil ||
		!samePrinted(strconv.FormatFloat(*a.Predictions[0].Probability, 'f', 4, 64), m[1]) {
		t.Errorf("the quickstart's curl body %s: %d %s; want the prediction it printed, %s", curl[1], status, b, m[1])
	}
}

// samePrinted compares a printed probability with another, one printed
// with fewer digits.
func samePrinted(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && strconv.FormatFloat(x, 'f', 4, 64) == strconv.FormatFloat(y, 'f', 4, 64)
}

// TestPredictWhileTheAliasMovesThroughTheServer: a load loop of
// prediction requests runs against `slipway serve` while `slipway models
// promote` moves production back and forth between two versions with
// different predictions. No request fails, every answer is one version's
// (each prediction names the answer's version and has that version's
// value), and each version answers after every move to it.
func TestPredictWhileTheAliasMovesThroughTheServer(t *testing.T) {
	dir := modelsProject(t)
	work := t.TempDir()
	mustRun(t, dir, "training-set", "export", "purchase_propensity", "--encoded", "--out", filepath.Join(work, "enc.csv"))
	linearOver(t, filepath.Join(work, "enc.schema.json"), filepath.Join(work, "model.json"))
	mustRun(t, dir, "models", "register", "purchase_model", "--file", filepath.Join(work, "model.json"), "--training-set", "purchase_propensity",
		"--schema", filepath.Join(work, "enc.schema.json"))
	subscriber := firstSubscriber(t, dir)
	base, stop := startServe(t, dir)
	body := fmt.Sprintf(`{"entities": [%q, "sub_does_not_exist"]}`, subscriber)

	var mu sync.Mutex
	var sent, failed int
	var firstFailure string
	seen := map[int]int{}          // answers by version
	values := map[int][2]float64{} // each version's two probabilities
	var inconsistent []string      // answers that are not wholly one version's
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := client.Post(base+"/v1/endpoints/purchase/predict", "application/json", strings.NewReader(body))
				var a predictAnswer
				if err == nil {
					var b bytes.Buffer
					b.ReadFrom(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: %s", resp.Status, b.String())
					} else {
						err = json.Unmarshal(b.Bytes(), &a)
					}
				}
				mu.Lock()
				sent++
				switch {
				case err != nil:
					if failed++; failed == 1 {
						firstFailure = err.Error()
					}
				case len(a.Predictions) != 2 || a.Predictions[0].Version != a.Version || a.Predictions[1].Version != a.Version ||
					a.Predictions[0].Probability == nil || a.Predictions[1].Probability == nil:
					inconsistent = append(inconsistent, fmt.Sprintf("%+v", a))
				default:
					got := [2]float64{*a.Predictions[0].Probability, *a.Predictions[1].Probability}
					if want, ok := values[a.Version]; ok && want != got {
						inconsistent = append(inconsistent, fmt.Sprintf("version %d answered %v, earlier %v", a.Version, got, want))
					}
					values[a.Version] = got
					seen[a.Version]++
				}
				mu.Unlock()
			}
		})
	}
	// waitFor waits until version v has answered since the call.
	waitFor := func(v int) {
		t.Helper()
		mu.Lock()
		before := seen[v]
		mu.Unlock()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := seen[v]
			mu.Unlock()
			if n > before+5 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("version %d did not answer within a minute of the move to it", v)
	}
	waitFor(1)
	for _, v := range []int{2, 1, 2, 1} {
		mustRun(t, dir, "models", "promote", "purchase_model", strconv.Itoa(v))
		waitFor(v)
	}
	close(done)
	wg.Wait()
	stop()

	if failed > 0 || len(inconsistent) > 0 {
		t.Errorf("%d of %d requests failed (first: %s); %d answers not wholly one version's: %v", failed, sent, firstFailure, len(inconsistent), inconsistent[:min(3, len(inconsistent))])
	}
	if len(seen) != 2 || values[1] == values[2] {
		t.Errorf("answers by version %v, predictions %v; want versions 1 and 2 only, with different predictions", seen, values)
	}
	t.Logf("%d requests; answers by version %v", sent, seen)
}
