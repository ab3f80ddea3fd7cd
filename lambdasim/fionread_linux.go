package lambdasim

import (
	"syscall"
	"unsafe"
)

// unreadBytes returns how many bytes are waiting in the pipe fd, or -1.
func unreadBytes(fd uintptr) int {
	var n int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return -1
	}
	return int(n)
}

// procAttr puts a child in its own process group and has the kernel kill it
// if lambdasim dies first, so no child outlives a crashed emulator.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
