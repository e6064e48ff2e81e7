package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// logFormats are the values of --log-format.
var logFormats = []string{"text", "json"}

// logLevelNames are the values of --log-level, most verbose first.
var logLevelNames = []string{"debug", "info", "warn", "error"}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// envOr returns the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// setLogger builds a.log from --log-format and --log-level (or their
// environment variables): one logger on stderr for the whole process.
func (a *app) setLogger() error {
	level, ok := logLevels[strings.ToLower(a.logLevel)]
	if !ok {
		return fmt.Errorf("--log-level %q (or %s): use one of %s", a.logLevel, LogLevelEnv, strings.Join(logLevelNames, ", "))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(a.logFormat) {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return fmt.Errorf("--log-format %q (or %s): use %s", a.logFormat, LogFormatEnv, strings.Join(logFormats, " or "))
	}
	return nil
}
