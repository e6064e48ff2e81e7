package onlineredis

import "github.com/redis/go-redis/v9"

// ClientOf gives tests the store's client, to add hooks and inspect keys.
func ClientOf(s *Store) redis.UniversalClient { return s.client }

// UseFreshScript makes s run a copy of the write script that the server has
// not loaded yet, as after a restart or SCRIPT FLUSH.
func UseFreshScript(s *Store, tag string) {
	s.script = redis.NewScript(writeScript + "-- " + tag + "\n")
}

// AppendEntry and DecodeEntry expose the entry encoding.
var (
	AppendEntry = appendEntry
	DecodeEntry = decodeEntry
	EncodeTime  = encodeTime
)
