package server

import "sync/atomic"

// NativeAnswers counts the serving port's native answers while a test
// runs (servingport.go's nativeHook).
func NativeAnswers() (count func() int64, stop func()) {
	var n atomic.Int64
	hook := func(string) { n.Add(1) }
	nativeHook.Store(&hook)
	return n.Load, func() { nativeHook.Store(nil) }
}
