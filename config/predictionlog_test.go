package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPredictionLogDefaults(t *testing.T) {
	for name, y := range map[string]string{
		"NoFile":          "",
		"NoSection":       "jobs:\n  concurrency: 2\n",
		"EmptyMapping":    "prediction_log: {}\n",
		"OnlyEnabledTrue": "prediction_log:\n  enabled: true\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := parse(t, y, nil)
			if cfg.PredictionLog != (PredictionLog{}) {
				t.Errorf("prediction log = %+v, want the zero value (defaults)", cfg.PredictionLog)
			}
		})
	}
}

func TestPredictionLogSettings(t *testing.T) {
	y := "registry:\n  type: sqlite\nprediction_log:\n  enabled: false\n  dir: /var/lib/slipway/plog\n  max_size: 512MiB\n  ship_interval: 500ms\n"
	cfg := parse(t, y, nil)
	want := PredictionLog{Disabled: true, Dir: "/var/lib/slipway/plog", MaxBytes: 512 << 20, ShipInterval: 500 * time.Millisecond}
	if cfg.PredictionLog != want {
		t.Errorf("prediction log = %+v, want %+v", cfg.PredictionLog, want)
	}
	if cfg.Registry.Type != SQLite || cfg.Offline.Type != DuckDB {
		t.Errorf("a prediction_log section changed the providers: %+v", cfg)
	}
}

func TestPredictionLogSizes(t *testing.T) {
	for in, want := range map[string]int64{
		"512MiB":  512 << 20,
		"1GiB":    1 << 30,
		"1 GiB":   1 << 30,
		"200MB":   200_000_000,
		"1048576": 1 << 20,
		"2gb":     2_000_000_000,
		"1.5GiB":  3 << 29,
		"1MiB":    1 << 20,
	} {
		cfg := parse(t, "prediction_log:\n  max_size: "+in+"\n", nil)
		if cfg.PredictionLog.MaxBytes != want {
			t.Errorf("max_size: %s gives %d bytes, want %d", in, cfg.PredictionLog.MaxBytes, want)
		}
	}
}

func TestPredictionLogShipIntervalBounds(t *testing.T) {
	for in, want := range map[string]time.Duration{"10ms": 10 * time.Millisecond, "1h": time.Hour, "2s": 2 * time.Second} {
		cfg := parse(t, "prediction_log:\n  ship_interval: "+in+"\n", nil)
		if cfg.PredictionLog.ShipInterval != want {
			t.Errorf("ship_interval: %s gives %v, want %v", in, cfg.PredictionLog.ShipInterval, want)
		}
	}
}

func TestPredictionLogRelativeDir(t *testing.T) {
	y := []byte("prediction_log:\n  dir: logs/predictions\n")
	for file, want := range map[string]string{
		"/etc/slipway/slipway.yaml": "/etc/slipway/logs/predictions",
		"slipway.yaml":              "logs/predictions",
		"deploy/slipway.yaml":       "deploy/logs/predictions",
	} {
		cfg, err := Parse(file, y, env(nil), testTypes)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.PredictionLog.Dir != filepath.FromSlash(want) {
			t.Errorf("dir in %s = %q, want %q", file, cfg.PredictionLog.Dir, want)
		}
	}
	cfg, err := Parse("deploy/slipway.yaml", []byte("prediction_log:\n  dir: /abs/plog\n"), env(nil), testTypes)
	if err != nil || cfg.PredictionLog.Dir != "/abs/plog" {
		t.Errorf("an absolute dir: %q, %v; want it unchanged", cfg.PredictionLog.Dir, err)
	}
}

func TestPredictionLogEnv(t *testing.T) {
	y := "prediction_log:\n  enabled: ${PL_ON}\n  dir: ${PL_ROOT}/plog\n  max_size: ${PL_SIZE}\n  ship_interval: ${PL_EVERY}\n"
	cfg := parse(t, y, map[string]string{"PL_ON": "false", "PL_ROOT": "/srv", "PL_SIZE": "2GiB", "PL_EVERY": "250ms"})
	want := PredictionLog{Disabled: true, Dir: "/srv/plog", MaxBytes: 2 << 30, ShipInterval: 250 * time.Millisecond}
	if cfg.PredictionLog != want {
		t.Errorf("prediction log = %+v, want %+v", cfg.PredictionLog, want)
	}
}

// TestPredictionLogErrors checks each bad prediction_log: section's error:
// at the file and line of the key or value, naming the setting and the
// value (but never an environment variable's value), saying what to write.
func TestPredictionLogErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"NotAMapping":    {"prediction_log: on\n", "s.yaml:1: prediction_log: expected a mapping with enabled:, dir:, max_size: or ship_interval:"},
		"Null":           {"prediction_log:\n", "s.yaml:1: prediction_log: expected a mapping"},
		"UnknownSetting": {"prediction_log:\n  max_size: 1GiB\n  max_bytes: 5\n", `s.yaml:3: prediction_log: unknown setting "max_bytes": use enabled, dir, max_size or ship_interval`},
		"Twice":          {"prediction_log:\n  dir: a\n  dir: b\n", "s.yaml:3: prediction_log: dir is given twice"},
		"BadBool":        {"prediction_log:\n  enabled: maybe\n", `s.yaml:2: prediction_log: enabled: "maybe": give true or false`},
		"YesIsNotABool":  {"prediction_log:\n  enabled: yes\n", `s.yaml:2: prediction_log: enabled: "yes": give true or false`},
		"EmptyDir":       {"prediction_log:\n  dir:\n", `s.yaml:2: prediction_log: dir: "": give a directory, or leave dir: out`},
		"NullDir":        {"prediction_log:\n  dir: ~\n", `s.yaml:2: prediction_log: dir: "~": give a directory`},
		"ListDir":        {"prediction_log:\n  dir: [a, b]\n", "s.yaml:2: prediction_log: dir: give a directory"},
		"BadSize":        {"prediction_log:\n\n  max_size: lots\n", `s.yaml:3: prediction_log: max_size: "lots": give a size such as 512MiB, 1GiB, 200MB or a number of bytes`},
		"BadSizeUnit":    {"prediction_log:\n  max_size: 5 parsecs\n", `s.yaml:2: prediction_log: max_size: "5 parsecs": give a size such as 512MiB`},
		"NegativeSize":   {"prediction_log:\n  max_size: -1GiB\n", `s.yaml:2: prediction_log: max_size: "-1GiB": give a size`},
		"SmallSize":      {"prediction_log:\n  max_size: 512KiB\n", `s.yaml:2: prediction_log: max_size: "512KiB": must be at least 1MiB`},
		"ZeroSize":       {"prediction_log:\n  max_size: 0\n", `s.yaml:2: prediction_log: max_size: "0": must be at least 1MiB`},
		"HugeSize":       {"prediction_log:\n  max_size: 10EiB\n", `s.yaml:2: prediction_log: max_size: "10EiB": is too large`},
		"BadInterval":    {"prediction_log:\n  ship_interval: often\n", `s.yaml:2: prediction_log: ship_interval: "often": give a duration such as 1s or 500ms`},
		"BareNumber":     {"prediction_log:\n  ship_interval: 5\n", `s.yaml:2: prediction_log: ship_interval: "5": give a duration`},
		"ShortInterval":  {"prediction_log:\n  ship_interval: 5ms\n", `s.yaml:2: prediction_log: ship_interval: "5ms": must be between 10ms and 1h0m0s`},
		"LongInterval":   {"prediction_log:\n  ship_interval: 2h\n", `s.yaml:2: prediction_log: ship_interval: "2h": must be between 10ms and 1h0m0s`},
		"UnsetEnv":       {"prediction_log:\n  dir: ${NOPE}/plog\n", "s.yaml:2: prediction_log: dir: environment variable NOPE is not set; export it or remove the reference"},
		"EnvBadSize":     {"prediction_log:\n  max_size: ${SECRET}\n", "s.yaml:2: prediction_log: max_size: environment variable SECRET: give a size such as 512MiB"},
		"EnvBadBool":     {"prediction_log:\n  enabled: ${SECRET}\n", "s.yaml:2: prediction_log: enabled: environment variable SECRET: give true or false"},
		"EnvBadInterval": {"prediction_log:\n  ship_interval: ${SECRET}\n", "s.yaml:2: prediction_log: ship_interval: environment variable SECRET: give a duration"},
		"EnvEmptyDir":    {"prediction_log:\n  dir: ${EMPTY}\n", "s.yaml:2: prediction_log: dir: environment variable EMPTY: give a directory"},
		"EveryProblem":   {"prediction_log:\n  enabled: 1\n  max_size: x\n", "s.yaml:2: prediction_log: enabled: \"1\": give true or false\ns.yaml:3: prediction_log: max_size: \"x\": give a size"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml), env(map[string]string{"SECRET": "s3cret", "EMPTY": ""}), testTypes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %v shows the environment variable's value", err)
			}
		})
	}
}

func TestUnknownTopLevelKeyListsPredictionLog(t *testing.T) {
	_, err := Parse("s.yaml", []byte("prediction_logs:\n  dir: x\n"), env(nil), testTypes)
	want := `s.yaml:1: unknown key "prediction_logs": use registry, offline, online, jobs, prediction_log, cors or metrics`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
