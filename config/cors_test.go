package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCORSDefaults(t *testing.T) {
	for name, y := range map[string]string{
		"NoFile":    "",
		"NoSection": "jobs:\n  concurrency: 2\n",
		"Empty":     "cors: {}\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := parse(t, y, nil)
			if cfg.CORS.AllowedOrigins != nil || cfg.CORS.MaxAge != 0 {
				t.Errorf("cors = %+v, want the zero value (no origin allowed, default max age)", cfg.CORS)
			}
		})
	}
}

func TestCORSSettings(t *testing.T) {
	y := "registry:\n  type: sqlite\ncors:\n  allowed_origins: [\"https://shop.example.com\", \"http://localhost:3000\"]\n  max_age: 1h\n"
	cfg := parse(t, y, nil)
	want := []string{"https://shop.example.com", "http://localhost:3000"}
	if !slices.Equal(cfg.CORS.AllowedOrigins, want) || cfg.CORS.MaxAge != time.Hour {
		t.Errorf("cors = %+v, want origins %q and max age 1h", cfg.CORS, want)
	}
	if cfg.Registry.Type != SQLite || cfg.Online.Type != Embedded {
		t.Errorf("a cors section changed the providers: %+v", cfg)
	}
}

func TestCORSOrigins(t *testing.T) {
	for _, o := range []string{
		"*",
		"https://shop.example.com",
		"http://localhost:3000",
		"http://127.0.0.1:8081",
		"http://[::1]:3000",
		"https://xn--bcher-kva.example",
		"https://shop.example.com:8443",
		"http://shop.example.com:443",
	} {
		cfg := parse(t, "cors:\n  allowed_origins:\n    - \""+o+"\"\n", nil)
		if !slices.Equal(cfg.CORS.AllowedOrigins, []string{o}) {
			t.Errorf("allowed_origins: [%s] gives %q", o, cfg.CORS.AllowedOrigins)
		}
	}
}

func TestCORSEnv(t *testing.T) {
	cfg := parse(t, "cors:\n  allowed_origins: [\"${SHOP}\", \"http://localhost:${PORT}\"]\n  max_age: ${AGE}\n",
		map[string]string{"SHOP": "https://shop.example.com", "PORT": "3000", "AGE": "30s"})
	want := []string{"https://shop.example.com", "http://localhost:3000"}
	if !slices.Equal(cfg.CORS.AllowedOrigins, want) || cfg.CORS.MaxAge != 30*time.Second {
		t.Errorf("cors = %+v, want origins %q and max age 30s", cfg.CORS, want)
	}
}

// TestCORSErrors checks each bad cors: section's error: at the file and
// line of the key or the origin, naming the setting and the value (never
// an environment variable's value), saying what to write.
func TestCORSErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"NotAMapping":    {"cors: yes\n", "s.yaml:1: cors: expected a mapping with allowed_origins: and max_age:"},
		"Null":           {"cors:\n", "s.yaml:1: cors: expected a mapping"},
		"UnknownSetting": {"cors:\n  allowed_origins: ['*']\n  allow_credentials: true\n", `s.yaml:3: cors: unknown setting "allow_credentials": use allowed_origins or max_age`},
		"Twice":          {"cors:\n  max_age: 1m\n  max_age: 2m\n", "s.yaml:3: cors: max_age is given twice"},
		"NotAList":       {"cors:\n  allowed_origins: https://shop.example.com\n", `s.yaml:2: cors: allowed_origins: give a list of origins such as ["https://shop.example.com", "http://localhost:3000"], or ["*"] for any origin`},
		"EmptyList":      {"cors:\n  allowed_origins: []\n", "s.yaml:2: cors: allowed_origins: give a list of origins"},
		"NestedList":     {"cors:\n  allowed_origins:\n    - [a]\n", "s.yaml:3: cors: allowed_origins: give a list of origins"},
		"Path":           {"cors:\n  allowed_origins:\n    - https://shop.example.com\n    - https://shop.example.com/feedback\n", `s.yaml:4: cors: allowed_origins: "https://shop.example.com/feedback": has a path, query or fragment: an origin is scheme://host[:port] only: write https://shop.example.com`},
		"Query":          {"cors:\n  allowed_origins: [\"https://a.example?x=1\"]\n", `s.yaml:2: cors: allowed_origins: "https://a.example?x=1": has a path, query or fragment`},
		"TrailingSlash":  {"cors:\n  allowed_origins: [\"http://localhost:3000/\"]\n", `s.yaml:2: cors: allowed_origins: "http://localhost:3000/": has a trailing slash: browsers send the origin without one: write http://localhost:3000`},
		"NoScheme":       {"cors:\n  allowed_origins: [shop.example.com]\n", `s.yaml:2: cors: allowed_origins: "shop.example.com": has no scheme: write https://shop.example.com or http://shop.example.com`},
		"NoSchemePort":   {"cors:\n  allowed_origins: [\"localhost:3000\"]\n", `"localhost:3000": has no scheme: write https://localhost:3000`},
		"OtherScheme":    {"cors:\n  allowed_origins: [\"ftp://shop.example.com\"]\n", `"ftp://shop.example.com": has a scheme other than http or https: write scheme://host[:port]`},
		"WildcardHost":   {"cors:\n  allowed_origins: [\"https://*.example.com\"]\n", `s.yaml:2: cors: allowed_origins: "https://*.example.com": has a wildcard: list each origin, or give "*" alone for any origin`},
		"WildcardPort":   {"cors:\n  allowed_origins: [\"http://localhost:*\"]\n", `"http://localhost:*": has a wildcard`},
		"StarMixed":      {"cors:\n  allowed_origins: [\"*\", \"https://shop.example.com\"]\n", `s.yaml:2: cors: allowed_origins: "*" allows every origin and must be alone: remove it, or remove the other origins`},
		"Duplicate":      {"cors:\n  allowed_origins:\n    - https://a.example\n    - https://a.example\n", `s.yaml:4: cors: allowed_origins: "https://a.example" is listed twice`},
		"NullOrigin":     {"cors:\n  allowed_origins: [\"null\"]\n", `"null": the "null" origin cannot be allowed`},
		"Empty":          {"cors:\n  allowed_origins: [\"\"]\n", `"": is empty`},
		"NoHost":         {"cors:\n  allowed_origins: [\"https://:3000\"]\n", `"https://:3000": has no host`},
		"UserInfo":       {"cors:\n  allowed_origins: [\"https://me@shop.example.com\"]\n", `"https://me@shop.example.com": has a user name: an origin has none: write https://shop.example.com`},
		"BadPort":        {"cors:\n  allowed_origins: [\"http://localhost:70000\"]\n", `"http://localhost:70000": has a port outside 1 to 65535`},
		"UpperCase":      {"cors:\n  allowed_origins: [\"https://Shop.Example.com\"]\n", `"https://Shop.Example.com": is not written as browsers send it: lower case, without the default port: write https://shop.example.com`},
		"DefaultPort":    {"cors:\n  allowed_origins: [\"https://shop.example.com:443\"]\n", `"https://shop.example.com:443": is not written as browsers send it: lower case, without the default port: write https://shop.example.com`},
		"Spaces":         {"cors:\n  allowed_origins: [\" https://a.example\"]\n", `has spaces or control characters`},
		"Newline":        {"cors:\n  allowed_origins: [\"a\\nb\"]\n", `s.yaml:2: cors: allowed_origins: "a\nb": has spaces or control characters`},
		"BadMaxAge":      {"cors:\n  max_age: forever\n", `s.yaml:2: cors: max_age: "forever": give a duration such as 10m or 1h`},
		"BareNumber":     {"cors:\n  max_age: 600\n", `s.yaml:2: cors: max_age: "600": give a duration`},
		"ShortMaxAge":    {"cors:\n  max_age: 10ms\n", `s.yaml:2: cors: max_age: "10ms": must be between 1s and 24h0m0s`},
		"LongMaxAge":     {"cors:\n  max_age: 48h\n", `s.yaml:2: cors: max_age: "48h": must be between 1s and 24h0m0s`},
		"ListMaxAge":     {"cors:\n  max_age: [1m]\n", `s.yaml:2: cors: max_age: give a duration`},
		"UnsetEnv":       {"cors:\n  allowed_origins: [\"${NOPE}\"]\n", "s.yaml:2: cors: allowed_origins: environment variable NOPE is not set; export it or remove the reference"},
		"EnvBadOrigin":   {"cors:\n  allowed_origins: [\"${SECRET}\"]\n", "s.yaml:2: cors: allowed_origins: environment variable SECRET: has no scheme: write scheme://host[:port], such as https://shop.example.com"},
		"EnvBadMaxAge":   {"cors:\n  max_age: ${SECRET}\n", "s.yaml:2: cors: max_age: environment variable SECRET: give a duration"},
		"EveryProblem":   {"cors:\n  allowed_origins:\n    - https://a.example/\n    - b.example\n  max_age: 0s\n", "s.yaml:3: cors: allowed_origins: \"https://a.example/\": has a trailing slash: browsers send the origin without one: write https://a.example\ns.yaml:4: cors: allowed_origins: \"b.example\": has no scheme: write https://b.example or http://b.example\ns.yaml:5: cors: max_age: \"0s\": must be between 1s"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml), env(map[string]string{"SECRET": "s3cret"}), testTypes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %v shows the environment variable's value", err)
			}
		})
	}
}

func TestUnknownTopLevelKeyListsCORS(t *testing.T) {
	_, err := Parse("s.yaml", []byte("core:\n  allowed_origins: ['*']\n"), env(nil), testTypes)
	want := `s.yaml:1: unknown key "core": use registry, offline, online, jobs, prediction_log, cors or metrics`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
