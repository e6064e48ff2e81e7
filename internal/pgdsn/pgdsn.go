// Package pgdsn hides the password of a PostgreSQL connection string, for
// the backends on PostgreSQL (registrypg, offlinepg) to show their
// configuration without it.
package pgdsn

import (
	"net/url"
	"strings"
)

// Redact hides the password of a PostgreSQL connection string, in URL
// form (user info and the password query parameter) or keyword/value form.
// A DSN it cannot take apart is hidden whole.
func Redact(dsn string) string {
	if dsn == "" {
		return ""
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "***"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxx")
			u.RawQuery = q.Encode()
		}
		return strings.ReplaceAll(u.String(), "xxx", "***")
	}
	fields, ok := splitKeywordDSN(dsn)
	if !ok {
		return "***"
	}
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=***"
		}
	}
	return strings.Join(fields, " ")
}

// splitKeywordDSN splits "host=h password='a b' dbname=d" into key=value
// fields, honouring single quotes and backslash escapes as libpq does.
func splitKeywordDSN(dsn string) ([]string, bool) {
	var fields []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(dsn); i++ {
		c := dsn[i]
		switch {
		case c == '\\' && i+1 < len(dsn):
			cur.WriteByte(c)
			i++
			cur.WriteByte(dsn[i])
		case c == '\'':
			quoted = !quoted
			cur.WriteByte(c)
		case (c == ' ' || c == '\t') && !quoted:
			if cur.Len() > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, false
	}
	if cur.Len() > 0 {
		fields = append(fields, cur.String())
	}
	for _, f := range fields {
		if !strings.Contains(f, "=") {
			return nil, false
		}
	}
	return fields, true
}
