//go:build !linux

package socketmode

import "syscall"

// tcpQuickAck is nil: this system has no TCP_QUICKACK, the pong after each message stands in.
var tcpQuickAck func(syscall.RawConn) error
