package predictionlog

import (
	"runtime"
	"syscall"
)

// lowerPriority locks the calling goroutine to its thread and gives the
// thread the lowest scheduling priority (nice 19), so that the kernel
// prefers the threads answering requests. The caller must exit its
// goroutine without unlocking it: the thread then ends with it.
func lowerPriority() error {
	runtime.LockOSThread()
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
