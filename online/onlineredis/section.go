package onlineredis

import "errors"

// Config is the online: section of slipway.yaml for type redis
// (a config.Section):
//
//	online:
//	  type: redis
//	  addrs: [redis-1:6379, redis-2:6379]   # required; several need cluster: true
//	  cluster: true
//	  username: slipway
//	  password: ${REDIS_PASSWORD}
//	  db: 0
//	  key_prefix: "slipway:"                # default DefaultKeyPrefix
//	  cache_mb: 128                         # read cache per Redis server; default DefaultCacheMB
//	  cache_ttl: 1m                         # longest a cached value is served; default DefaultCacheTTL
//	  disable_cache: false                  # true reads every value from Redis

// Settings maps the keys of the section to the fields they set.
func (c *Config) Settings() map[string]any {
	return map[string]any{
		"addrs": &c.Addrs, "cluster": &c.Cluster, "username": &c.Username,
		"password": &c.Password, "db": &c.DB, "key_prefix": &c.KeyPrefix,
		"cache_mb": &c.CacheMB, "cache_ttl": &c.CacheTTL, "disable_cache": &c.DisableCache,
	}
}

// Check reports a missing or wrong setting.
func (c *Config) Check() error {
	if len(c.Addrs) == 0 {
		return errors.New("type redis needs addrs: (for example [127.0.0.1:6379])")
	}
	return c.Validate()
}

// Redact hides the password.
func (c *Config) Redact() {
	if c.Password != "" {
		c.Password = "***"
	}
}
