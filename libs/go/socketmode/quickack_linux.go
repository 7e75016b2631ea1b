package socketmode

import "syscall"

// tcpQuickAck sets TCP_QUICKACK on a socket: the pending ACK goes out now, and the next
// ones too until Linux drops back to delayed ACKs.
var tcpQuickAck = func(raw syscall.RawConn) error {
	var serr error
	err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
