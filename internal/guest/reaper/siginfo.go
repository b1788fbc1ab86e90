package reaper

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// siginfoPid returns si_pid of a waitid result. x/sys/unix keeps the union
// opaque; on Linux si_pid is the int right after si_signo, si_errno,
// si_code and their padding (offset 16 on 64-bit). waitid with WNOHANG
// leaves it zero when no child has changed state.
func siginfoPid(info *unix.Siginfo) int {
	b := (*[unsafe.Sizeof(unix.Siginfo{})]byte)(unsafe.Pointer(info))
	return int(int32(binary.NativeEndian.Uint32(b[16:20])))
}
