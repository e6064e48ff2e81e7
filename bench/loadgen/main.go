// Command loadgen drives online feature reads at a fixed concurrency (or a
// fixed rate) and reports throughput and latency percentiles. It reads the
// same keys two ways so they can be compared in one run: through Slipway's
// HTTP API (-target http) and straight from Redis with the HMGET pipeline a
// hand-written client would send (-target redis), the floor.
//
//	loadgen -target http  -url http://127.0.0.1:8080 -features f1,f2 -entities-file keys.txt -batch 100
//	loadgen -target redis -addr 127.0.0.1:6379 -prefix slipway: -features f1:default,f2:default -entities-file keys.txt -batch 100
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	target := flag.String("target", "http", "http (Slipway's online features), predict (an endpoint's predictions) or redis (raw HMGET pipeline)")
	endpoint := flag.String("endpoint", "", "the endpoint to ask (target predict)")
	url := flag.String("url", "http://127.0.0.1:8080", "Slipway server (target http)")
	addr := flag.String("addr", "127.0.0.1:6379", "Redis address (target redis)")
	prefix := flag.String("prefix", "slipway:", "Redis key prefix (target redis)")
	features := flag.String("features", "", "comma-separated features (as the target names them)")
	entitiesFile := flag.String("entities-file", "", "file with one entity key per line")
	batch := flag.Int("batch", 1, "entities per request")
	concurrency := flag.Int("concurrency", 1, "concurrent clients")
	rate := flag.Float64("rate", 0, "requests per second in total (0: as fast as the clients go)")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	flag.Parse()
	if err := run(*target, *url, *endpoint, *addr, *prefix, strings.Split(*features, ","), *entitiesFile, *batch, *concurrency, *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(target, url, endpoint, addr, prefix string, features []string, entitiesFile string, batch, concurrency int, rate float64, duration time.Duration) error {
	keys, err := readLines(entitiesFile)
	if err != nil {
		return err
	}
	if len(keys) < batch || (features[0] == "" && target != "predict") || (endpoint == "" && target == "predict") {
		return fmt.Errorf("need -features (or -endpoint for predict) and at least -batch %d entity keys", batch)
	}
	if target == "predict" {
		features = nil // the endpoint's model decides
	}
	var do func(ctx context.Context, entities []string) error
	switch target {
	case "http", "predict":
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
		path, field := "/v1/online-features", "features"
		if target == "predict" {
			path, field = "/v1/endpoints/"+endpoint+"/predict", ""
		}
		do = func(ctx context.Context, entities []string) error {
			req := map[string]any{"entities": entities}
			if field != "" {
				req[field] = features
			}
			body, _ := json.Marshal(req)
			req2, _ := http.NewRequestWithContext(ctx, "POST", url+path, bytes.NewReader(body))
			resp, err := client.Do(req2)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: concurrency})
		defer rdb.Close()
		do = func(ctx context.Context, entities []string) error {
			pipe := rdb.Pipeline()
			for _, e := range entities {
				pipe.HMGet(ctx, prefix+e, features...)
			}
			_, err := pipe.Exec(ctx)
			return err
		}
	default:
		return fmt.Errorf("unknown -target %q", target)
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			next := (c * 7919) % len(keys)
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
						continue
					}
				}
				entities := make([]string, batch)
				for i := range entities {
					entities[i] = keys[next]
					next = (next + 1) % len(keys)
				}
				t0 := time.Now()
				err := do(ctx, entities)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					mu.Lock()
					errs++
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return fmt.Errorf("no successful request (%d errors, first: %v)", errs, first)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("target=%s batch=%d features=%d concurrency=%d rate=%g requests=%d errors=%d throughput=%.0f req/s p50=%s p90=%s p99=%s max=%s\n",
		target, batch, len(features), concurrency, rate, len(lat), errs, float64(len(lat))/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	if first != nil {
		fmt.Fprintln(os.Stderr, "first error:", first)
	}
	return nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
