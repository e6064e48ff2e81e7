package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Metrics is the metrics: section: the Prometheus metrics `slipway serve`
// keeps and serves on GET /metrics (docs/metrics.md).
type Metrics struct {
	// Disabled turns them off (enabled: false): no /metrics route and no
	// counting on the request path, so that their cost can be measured.
	// Default: on.
	Disabled bool
}

// parseMetrics reads the metrics: section of file.
func parseMetrics(file string, n *yaml.Node, lookup func(string) (string, bool), dst *Metrics) error {
	return eachSetting(file, "metrics", n, lookup, []string{"enabled"}, "enabled:", "enabled",
		func(k string, v *yaml.Node, env map[*yaml.Node][]string, errorf func(line int, format string, args ...any)) {
			val := ""
			if v.Kind == yaml.ScalarNode {
				val = strings.ToLower(v.Value)
			}
			switch {
			case val == "true":
				dst.Disabled = false
			case val == "false":
				dst.Disabled = true
			case env[v] != nil:
				errorf(v.Line, "enabled: environment variable %s: give true or false", strings.Join(env[v], ", "))
			case v.Kind == yaml.ScalarNode:
				errorf(v.Line, "enabled: %q: give true or false", v.Value)
			default:
				errorf(v.Line, "enabled: give true or false")
			}
		})
}
