package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// CORS is the cors: section: the web pages (origins) allowed to call the
// API's browser routes (predict, online features, feedback) from a browser.
// The zero value allows none: browsers then refuse to let a page read the
// answers of another origin.
type CORS struct {
	// AllowedOrigins are exact origins, scheme://host[:port] as a browser
	// sends them in its Origin header (lower case, no default port, no
	// path), or the single entry "*" for any origin.
	AllowedOrigins []string
	// MaxAge is how long a browser may cache a preflight answer (max_age:,
	// default DefaultCORSMaxAge when 0; between 1s and 24h).
	MaxAge time.Duration
}

// AnyOrigin in AllowedOrigins allows every origin; it is only valid alone.
const AnyOrigin = "*"

// DefaultCORSMaxAge is the preflight cache time when max_age: is left out.
const DefaultCORSMaxAge = 10 * time.Minute

// The bounds of max_age: browsers cap it themselves (Chromium at 2h,
// Firefox at 24h).
const (
	minCORSMaxAge = time.Second
	maxCORSMaxAge = 24 * time.Hour
)

// corsWant says what to write for each cors: setting.
var corsWant = map[string]string{
	"allowed_origins": `give a list of origins such as ["https://shop.example.com", "http://localhost:3000"], or ["*"] for any origin`,
	"max_age":         "give a duration such as 10m or 1h",
}

// parseCORS reads the cors: section of file. Each problem is reported at
// the line of its key or value (an origin at its own line).
func parseCORS(file string, n *yaml.Node, lookup func(string) (string, bool), dst *CORS) error {
	return eachSetting(file, "cors", n, lookup, []string{"allowed_origins", "max_age"},
		"allowed_origins: and max_age:", "allowed_origins or max_age",
		func(k string, v *yaml.Node, env map[*yaml.Node][]string, errorf func(line int, format string, args ...any)) {
			// quote shows a value, unless it came from the environment: it
			// may be a secret.
			quote := func(v *yaml.Node) string {
				if vars := env[v]; vars != nil {
					return "environment variable " + strings.Join(vars, ", ")
				}
				return strconv.Quote(v.Value)
			}
			switch k {
			case "allowed_origins":
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					errorf(v.Line, "allowed_origins: %s", corsWant[k])
					return
				}
				origins := make([]string, 0, len(v.Content))
				have := map[string]bool{}
				for _, o := range v.Content {
					if o.Kind != yaml.ScalarNode {
						errorf(o.Line, "allowed_origins: %s", corsWant[k])
						continue
					}
					if err := checkOrigin(o.Value); err != nil {
						if env[o] != nil {
							// The fix may repeat the value.
							errorf(o.Line, "allowed_origins: %s: %s: %s", quote(o), err.why, originForm)
						} else {
							errorf(o.Line, "allowed_origins: %s: %v", quote(o), err)
						}
						continue
					}
					if have[o.Value] {
						errorf(o.Line, "allowed_origins: %s is listed twice", quote(o))
						continue
					}
					have[o.Value] = true
					origins = append(origins, o.Value)
				}
				if have[AnyOrigin] && len(v.Content) > 1 {
					errorf(v.Line, `allowed_origins: "*" allows every origin and must be alone: remove it, or remove the other origins`)
					return
				}
				dst.AllowedOrigins = origins
			case "max_age":
				var err error
				if v.Kind != yaml.ScalarNode {
					err = errors.New(corsWant[k])
				} else if dst.MaxAge, err = time.ParseDuration(v.Value); err != nil {
					err = errors.New(corsWant[k])
				} else if dst.MaxAge < minCORSMaxAge || dst.MaxAge > maxCORSMaxAge {
					err = fmt.Errorf("must be between %v and %v", minCORSMaxAge, maxCORSMaxAge)
				}
				if err != nil {
					dst.MaxAge = 0
					if v.Kind == yaml.ScalarNode {
						errorf(v.Line, "max_age: %s: %v", quote(v), err)
					} else {
						errorf(v.Line, "max_age: %v", err)
					}
				}
			}
		})
}

// originForm is how to write an origin.
const originForm = "write scheme://host[:port], such as https://shop.example.com"

// originError says what is wrong with an origin (why) and what to write
// instead (fix, which may repeat parts of the origin).
type originError struct{ why, fix string }

func (e *originError) Error() string { return e.why + ": " + e.fix }

// checkOrigin says what is wrong with s as an allowed origin: it must be
// written as browsers send the Origin header, so that it matches by plain
// string comparison.
func checkOrigin(s string) *originError {
	bad := func(why, fix string) *originError { return &originError{why, fix} }
	switch {
	case s == AnyOrigin:
		return nil
	case s == "":
		return bad("is empty", originForm)
	case s == "null":
		return bad(`the "null" origin cannot be allowed`, "any sandboxed page or local file sends it")
	case strings.Contains(s, "*"):
		return bad("has a wildcard", `list each origin, or give "*" alone for any origin`)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return bad("has spaces or control characters", originForm)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("has no scheme", fmt.Sprintf("write https://%s or http://%s", s, s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("is not an origin", originForm)
	}
	// What a browser would send for this page, for the fixes below.
	host := strings.ToLower(u.Host)
	if p := u.Port(); p == "443" && strings.EqualFold(scheme, "https") || p == "80" && strings.EqualFold(scheme, "http") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	origin := strings.ToLower(scheme) + "://" + host
	switch {
	case !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https"):
		return bad("has a scheme other than http or https", originForm)
	case u.User != nil:
		return bad("has a user name", "an origin has none: write "+origin)
	case u.Hostname() == "":
		return bad("has no host", originForm)
	case rest == u.Host+"/":
		return bad("has a trailing slash", "browsers send the origin without one: write "+origin)
	case rest != u.Host:
		return bad("has a path, query or fragment", "an origin is scheme://host[:port] only: write "+origin)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("has a port outside 1 to 65535", originForm)
		}
	}
	if s != origin {
		return bad("is not written as browsers send it", "lower case, without the default port: write "+origin)
	}
	return nil
}
