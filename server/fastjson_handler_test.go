package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestOnlineFeaturesFastAndStrictAgree: a body the fast decoder takes and
// the same request written so that only the strict path takes it (an
// escaped key, a key's other case) get the same answer; and under
// concurrent requests over HTTP, each answer is its own (the handlers share
// pooled buffers).
func TestOnlineFeaturesFastAndStrictAgree(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	features := `["opens_30d:v1","avg_order_value","subscriber_region","is_unsubscribed","last_open_at","signup_channel"]`
	entitySets := [][2]string{
		{`["sub_1036"]`, `["sub_\u0031036"]`},
		{`["sub_2",42]`, `["sub\u005f2",42]`},
		{`["sub_404","sub_1036","sub_2"]`, `["sub_404","sub_1036","sub_2"]`},
		{`[7,"sub_1036",-3]`, `[7,"sub_1036",-3]`},
	}
	post := func(body string) (int, []byte, error) {
		resp, err := srv.Client().Post(srv.URL+"/v1/online-features", "application/json", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.ContentLength != int64(len(b)) {
			err = fmt.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(b))
		}
		return resp.StatusCode, b, err
	}
	var bodies []string
	var want [][]byte
	for _, es := range entitySets {
		fast := `{"features":` + features + `,"entities":` + es[0] + `}`
		strict := `{"Entities":` + es[1] + `,"features":` + features + `}`
		status, a, err := post(fast)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: %d %s %v", fast, status, a, err)
		}
		status, b, err := post(strict)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: %d %s %v", strict, status, b, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("the same request, fast and strict:\n%s\n%s", a, b)
		}
		bodies, want = append(bodies, fast, strict), append(want, a, a)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(bodies)
				status, got, err := post(bodies[k])
				if err != nil || status != http.StatusOK || !bytes.Equal(got, want[k]) {
					t.Errorf("%s: %d %v:\n got %s\nwant %s", bodies[k], status, err, got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
