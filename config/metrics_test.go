package config

import (
	"strings"
	"testing"
)

func TestMetricsOnByDefault(t *testing.T) {
	for name, y := range map[string]string{
		"NoFile":       "",
		"NoSection":    "jobs:\n  concurrency: 2\n",
		"EmptyMapping": "metrics: {}\n",
		"EnabledTrue":  "metrics:\n  enabled: true\n",
		"FromEnv":      "metrics:\n  enabled: ${ON}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if cfg := parse(t, y, map[string]string{"ON": "TRUE"}); cfg.Metrics.Disabled {
				t.Errorf("%q turned the metrics off", y)
			}
		})
	}
}

func TestMetricsOff(t *testing.T) {
	cfg := parse(t, "registry:\n  type: sqlite\nmetrics:\n  enabled: false\n", nil)
	if !cfg.Metrics.Disabled {
		t.Error("metrics: enabled: false left the metrics on")
	}
	if cfg.Registry.Type != SQLite || cfg.PredictionLog.Disabled {
		t.Errorf("a metrics section changed other sections: %+v", cfg)
	}
}

func TestMetricsErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"NotAMapping":    {"metrics: off\n", "s.yaml:1: metrics: expected a mapping with enabled:"},
		"UnknownSetting": {"metrics:\n  enabled: true\n  path: /m\n", `s.yaml:3: metrics: unknown setting "path": use enabled`},
		"Twice":          {"metrics:\n  enabled: true\n  enabled: false\n", "s.yaml:3: metrics: enabled is given twice"},
		"BadBool":        {"metrics:\n  enabled: maybe\n", `s.yaml:2: metrics: enabled: "maybe": give true or false`},
		"List":           {"metrics:\n  enabled: [true]\n", "s.yaml:2: metrics: enabled: give true or false"},
		"EnvBadBool":     {"metrics:\n  enabled: ${SECRET}\n", "s.yaml:2: metrics: enabled: environment variable SECRET: give true or false"},
		"UnsetEnv":       {"metrics:\n  enabled: ${NOPE}\n", "s.yaml:2: metrics: enabled: environment variable NOPE is not set"},
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
