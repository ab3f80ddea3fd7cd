//go:build !linux

package lambdasim

import "syscall"

// unreadBytes is unknown off Linux; lambdasim then relies on the reader's
// own idle state.
func unreadBytes(fd uintptr) int { return -1 }

// procAttr puts a child in its own process group.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
