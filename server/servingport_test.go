package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/config"
	"github.com/slipway-ml/slipway/internal/testenv"
	"github.com/slipway-ml/slipway/metrics"
	"github.com/slipway-ml/slipway/online"
	"github.com/slipway-ml/slipway/online/onlineredis"
	"github.com/slipway-ml/slipway/server"
	"github.com/slipway-ml/slipway/serving"
)

// startServing runs server.Serve with a serving port until the returned
// cancel: the API's address, the serving port's, and what Serve returned.
func startServing(t *testing.T, cfg server.Config) (api, port string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServingListener = sln
	api, cancel, done = startServe(t, cfg)
	return api, sln.Addr().String(), cancel, done
}

// rawResponse is what a request was answered, as the test compares it.
type rawResponse struct {
	status      int
	contentType string
	header      http.Header
	body        []byte
}

// send writes the raw request req (headers and body as given) on a new
// connection to addr and reads the answer.
func send(t *testing.T, addr, req string) rawResponse {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: reading the answer to %q: %v", addr, firstLine(req), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header, b}
}

func firstLine(s string) string { return strings.SplitN(s, "\r\n", 2)[0] }

// rawRequest formats an HTTP/1.1 request with a fixed request id.
func rawRequest(method, target, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: slipway.test\r\nX-Request-Id: req-fixed-1\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)
	return b.String()
}

var predictionID = regexp.MustCompile(`"id":"[0-9a-f-]{36}"`)

// servingCase is a request sent to both ports.
type servingCase struct {
	name, req string
	status    int
	// native says the serving port answers it without the adaptor.
	native bool
}

// sameAnswers sends every case to the API's address and to the serving
// port and fails unless the status, Content-Type, the request id, the
// CORS headers and the body are byte for byte the same.
func sameAnswers(t *testing.T, api, port string, cases []servingCase) {
	t.Helper()
	native, stop := server.NativeAnswers()
	defer stop()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, api, tc.req)
			before := native()
			p := send(t, port, tc.req)
			if got := native() > before; got != tc.native {
				t.Errorf("answered natively: %v, want %v", got, tc.native)
			}
			// A prediction's id is new for every answer.
			a.body, p.body = predictionID.ReplaceAll(a.body, []byte(`"id":"…"`)), predictionID.ReplaceAll(p.body, []byte(`"id":"…"`))
			if a.status != tc.status {
				t.Errorf("API: %d %s, want %d", a.status, a.body, tc.status)
			}
			if p.status != a.status || p.contentType != a.contentType || !bytes.Equal(p.body, a.body) {
				t.Errorf("the serving port answered differently:\nAPI:     %d %q %s\nserving: %d %q %s", a.status, a.contentType, a.body, p.status, p.contentType, p.body)
			}
			for _, h := range []string{"X-Request-Id", "Allow", "Vary", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
				"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers"} {
				if av, pv := strings.Join(a.header.Values(h), ","), strings.Join(p.header.Values(h), ","); av != pv {
					t.Errorf("%s: API %q, serving port %q", h, av, pv)
				}
			}
			if got := p.header.Get("X-Request-Id"); got != "req-fixed-1" {
				t.Errorf("X-Request-Id %q, want the client's", got)
			}
		})
	}
}

// onlineFeaturesCases are the promise's requests of POST /v1/online-features
// on newFixture's data.
func onlineFeaturesCases() []servingCase {
	of := func(body string, headers ...string) string {
		return rawRequest("POST", "/v1/online-features", body, headers...)
	}
	all := `"opens_30d:v1","avg_order_value","subscriber_region","is_unsubscribed","last_open_at","signup_channel"`
	return []servingCase{
		{"Found", of(`{"features":["opens_30d:v1"],"entities":["sub_1036"]}`), 200, true},
		{"EveryKindAndStatus", of(`{"features":[` + all + `],"entities":["sub_1036","sub_2","nobody"]}`), 200, true},
		{"Missing", of(`{"features":["opens_30d:v1","avg_order_value"],"entities":["nobody"]}`), 200, true},
		{"IntegerKey", of(`{"features":["opens_30d:v1"],"entities":[42]}`), 200, true},
		{"EscapedKey", of(`{"features":["opens_30d:v1"],"entities":["sub_\u0031036","a\"b<&>"]}`), 200, false},
		{"Whitespace", of(" {\n \"entities\" : [ \"sub_2\" ] ,\t\"features\": [\"opens_30d:v1\"] }\n"), 200, true},
		{"Chunked", "POST /v1/online-features HTTP/1.1\r\nHost: slipway.test\r\nX-Request-Id: req-fixed-1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"1d\r\n{\"features\":[\"opens_30d:v1\"],\r\n1b\r\n\"entities\":[\"sub_1036\",42]}\r\n0\r\n\r\n", 200, true},
		{"MalformedJSON", of(`{"features":["opens_30d:v1"],"entities":[`), 400, false},
		{"WrongKind", of(`{"features":"opens_30d:v1","entities":["sub_1036"]}`), 400, false},
		{"WrongKeyKind", of(`{"features":["opens_30d:v1"],"entities":[1.5]}`), 400, false},
		{"UnknownField", of(`{"features":["opens_30d:v1"],"entities":["sub_1036"],"extra":1}`), 400, false},
		{"UnknownFeature", of(`{"features":["nope"],"entities":["sub_1036"]}`), 404, false},
		{"EmptyBody", of(""), 400, false},
		{"TooLarge", "POST /v1/online-features HTTP/1.1\r\nHost: slipway.test\r\nX-Request-Id: req-fixed-1\r\nContent-Type: application/json\r\nContent-Length: " +
			fmt.Sprint(server.MaxBodyBytes+1) + "\r\n\r\n", 413, false},
		{"QueryString", rawRequest("POST", "/v1/online-features?debug=1", `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`), 200, false},
		{"Origin", of(`{"features":["opens_30d:v1"],"entities":["sub_1036"]}`, "Origin: "+shopOrigin), 200, false},
		{"OriginRefused", of(`{"features":["opens_30d:v1"],"entities":["sub_1036"]}`, "Origin: "+otherOrigin), 403, false},
		{"Preflight", rawRequest("OPTIONS", "/v1/online-features", "", "Origin: "+shopOrigin, "Access-Control-Request-Method: POST"), 204, false},
		{"WrongMethod", rawRequest("GET", "/v1/online-features", ""), 405, false},
		{"Healthz", rawRequest("GET", "/healthz", ""), 200, false},
		{"Readyz", rawRequest("GET", "/readyz", ""), 200, false},
	}
}

// TestServingPortSameAnswers is the serving port's promise: its answers are
// the API's, successes and errors, on the embedded store.
func TestServingPortSameAnswers(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.CORS = config.CORS{AllowedOrigins: []string{shopOrigin}}
	api, port, _, _ := startServing(t, cfg)
	sameAnswers(t, api, port, onlineFeaturesCases())
}

// TestServingPortSameAnswersRedis is the promise on Redis, with the read
// cache on and off.
func TestServingPortSameAnswersRedis(t *testing.T) {
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			p, reg, _ := newBackends(t)
			on, err := onlineredis.New(t.Context(), onlineredis.Config{Addrs: []string{testenv.Redis(t)},
				KeyPrefix: fmt.Sprintf("slipwayservingport:%x:", rand.Uint64()), DisableCache: !cache})
			if err != nil {
				t.Fatal(err)
			}
			f := fillFixture(t, p, reg, on)
			t.Cleanup(func() {
				on.DeleteFeatures(context.Background(), &online.DeleteFeaturesParams{Features: fixtureFeatures})
				on.Close()
			})
			cfg := fixtureConfig(f)
			cfg.CORS = config.CORS{AllowedOrigins: []string{shopOrigin}}
			api, port, _, _ := startServing(t, cfg)
			sameAnswers(t, api, port, onlineFeaturesCases())
		})
	}
}

// TestServingPortSameAnswersPredict is the promise for predict.
func TestServingPortSameAnswersPredict(t *testing.T) {
	f := newPredictFixture(t)
	cfg := server.Config{Platform: f.p, Serving: f.svc, Endpoints: f.endpoints, CORS: config.CORS{AllowedOrigins: []string{shopOrigin}}}
	api, port, _, _ := startServing(t, cfg)
	pr := func(path, body string, headers ...string) string { return rawRequest("POST", path, body, headers...) }
	keys := `"` + strings.Join(f.entities[:5], `","`) + `"`
	sameAnswers(t, api, port, []servingCase{
		{"One", pr("/v1/endpoints/purchase/predict", `{"entities":["`+f.entities[0]+`"]}`), 200, true},
		{"Several", pr("/v1/endpoints/purchase/predict", `{"entities":[`+keys+`,"nobody"]}`), 200, true},
		{"Variant", pr("/v1/endpoints/purchase:default/predict", `{"entities":["`+f.entities[0]+`"]}`), 200, true},
		{"RequestTimeFeatures", pr("/v1/endpoints/purchase/predict", `{"entities":["`+f.entities[0]+`"],"features":[{"opens_30d":3}]}`), 200, false},
		{"UnknownEndpoint", pr("/v1/endpoints/nope/predict", `{"entities":["`+f.entities[0]+`"]}`), 404, false},
		{"BadName", pr("/v1/endpoints/Purchase/predict", `{"entities":["`+f.entities[0]+`"]}`), 400, false},
		{"MalformedJSON", pr("/v1/endpoints/purchase/predict", `{"entities": [`), 400, false},
		{"WrongKind", pr("/v1/endpoints/purchase/predict", `{"entities": "x"}`), 400, false},
		{"NoEntities", pr("/v1/endpoints/purchase/predict", `{"entities": []}`), 400, false},
		{"EmptyBody", pr("/v1/endpoints/purchase/predict", ``), 400, false},
		{"QueryString", pr("/v1/endpoints/purchase/predict?x=1", `{"entities":["`+f.entities[0]+`"]}`), 400, false},
		{"Origin", pr("/v1/endpoints/purchase/predict", `{"entities":["`+f.entities[0]+`"]}`, "Origin: "+shopOrigin), 200, false},
		{"Preflight", rawRequest("OPTIONS", "/v1/endpoints/purchase/predict", "", "Origin: "+shopOrigin, "Access-Control-Request-Method: POST"), 204, false},
		{"DotSegment", pr("/v1/endpoints/../predict", `{"entities":["x"]}`), 404, false},
	})
}

// TestServingPortOtherRoutes: the rest of the API is not on the serving
// port, and its 404 says where it is.
func TestServingPortOtherRoutes(t *testing.T) {
	f := newFixture(t)
	api, port, _, _ := startServing(t, fixtureConfig(f))
	for _, target := range []string{"GET /v1/resources", "GET /metrics", "POST /v1/apply", "GET /v1/jobs/1", "GET /", "POST /v1/feedback"} {
		method, path, _ := strings.Cut(target, " ")
		if a := send(t, api, rawRequest(method, path, "")); strings.Contains(string(a.body), "serving port") {
			t.Errorf("%s on the API: %d %s, want the API's own answer", target, a.status, a.body)
		}
		p := send(t, port, rawRequest(method, path, ""))
		want := `{"error":{"code":"not_found","message":"not found: no endpoint ` + method + " " + path + ` on the serving port, which answers only POST /v1/online-features, POST /v1/endpoints/{name}/predict, GET /healthz and GET /readyz; the rest of the API is served on the API address (slipway serve --addr)","request_id":"req-fixed-1"}}` + "\n"
		if p.status != http.StatusNotFound || p.contentType != "application/json" || string(p.body) != want {
			t.Errorf("%s on the serving port: %d %q %s, want 404 %s", target, p.status, p.contentType, p.body, want)
		}
	}
}

// TestServingPortFasthttpErrors: fasthttp's own refusals are the API's
// error bodies.
func TestServingPortFasthttpErrors(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.ReadTimeout = 300 * time.Millisecond
	_, port, _, _ := startServing(t, cfg)
	for _, tc := range []struct {
		name, req string
		status    int
		code      string
	}{
		{"Malformed", "POST /v1/online-features HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400, "invalid_request"},
		{"HeadersTooLarge", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431, "too_large"},
		{"ReadTimeout", "POST /v1/online-features HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"f", 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := send(t, port, tc.req)
			if p.status != tc.status || p.contentType != "application/json" || !strings.Contains(string(p.body), `"code":"`+tc.code+`"`) ||
				!strings.Contains(string(p.body), `"request_id":"`) {
				t.Errorf("%d %q %s, want %d with the API's error body, code %s", p.status, p.contentType, p.body, tc.status, tc.code)
			}
		})
	}
}

// TestServingPortGracefulShutdown: a request in flight on the serving port
// when Serve is told to stop is answered, and Serve returns nil.
func TestServingPortGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	_, port, stop, done := startServing(t, fixtureConfig(f))
	drainsInFlight(t, port, stop, done)
}

// TestServingPortShutdownTimeout: a request still in flight on the serving
// port at the end of the shutdown timeout is cut off.
func TestServingPortShutdownTimeout(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	_, port, stop, done := startServing(t, cfg)
	cutsOffInFlight(t, port, stop, done)
}

// TestServingPortMetrics: the serving port's requests, native or not, are
// counted as the API's are, under the same routes.
func TestServingPortMetrics(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.Metrics = metrics.New(metrics.Config{})
	api, port, _, _ := startServing(t, cfg)
	body := `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`
	for range 3 {
		send(t, port, rawRequest("POST", "/v1/online-features", body)) // native
	}
	send(t, port, rawRequest("POST", "/v1/online-features", `{"features":["nope"],"entities":["x"]}`)) // an error: the adaptor
	send(t, port, rawRequest("GET", "/v1/resources", ""))                                              // not served there
	m := send(t, api, rawRequest("GET", "/metrics", ""))
	for _, want := range []string{
		`{code="200",route="POST /v1/online-features"} 3`,
		`{code="404",route="POST /v1/online-features"} 1`,
		`{code="404",route="unmatched"} 1`,
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(m.body), "slipway_http_requests_total"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServingPortListenerFails: a serving listener that fails stops Serve
// at once with its error, as the API's does.
func TestServingPortListenerFails(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sln.Close()
	cfg.ServingListener = sln
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Serve(context.Background(), ln, cfg) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "serving port "+sln.Addr().String()) {
			t.Errorf("Serve: %v, want the serving port's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return when its serving listener failed")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the API address still accepts connections after Serve returned")
	}
}

// TestServingPortPanic: a panic while answering natively does not end the
// process; the request gets the API's 500.
func TestServingPortPanic(t *testing.T) {
	f := newFixture(t)
	cfg := fixtureConfig(f)
	cfg.Serving = &serving.Service{Online: f.online} // no registry: serving panics
	api, port, _, _ := startServing(t, cfg)
	req := rawRequest("POST", "/v1/online-features", `{"features":["opens_30d:v1"],"entities":["sub_1036"]}`)
	a, p := send(t, api, req), send(t, port, req)
	if a.status != http.StatusInternalServerError || p.status != a.status || !bytes.Equal(p.body, a.body) {
		t.Errorf("API %d %s, serving port %d %s; want the same 500", a.status, a.body, p.status, p.body)
	}
	if h := send(t, port, rawRequest("GET", "/healthz", "")); h.status != http.StatusOK {
		t.Errorf("after the panic, /healthz on the serving port: %d", h.status)
	}
}
