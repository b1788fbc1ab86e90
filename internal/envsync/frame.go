package envsync

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

const (
	// frameMagic starts the line the guest prints before the current file.
	frameMagic = "SMOLVM-ENV 1 "
	// frameMissing follows frameMagic when the file does not exist.
	frameMissing = "missing"
	// maxJunk bounds what the host skips before the frame line: output of
	// a guest startup file (~/.bashrc) that writes to stdout.
	maxJunk = 64 << 10
	// maxFrame bounds the file size the host accepts from the guest.
	maxFrame = 16 << 20
	// okLine is the guest's last line after a successful update.
	okLine = "OK\n"
)

// readFrame reads the guest's "SMOLVM-ENV 1 <n>\n<n bytes>" (present) or
// "SMOLVM-ENV 1 missing\n" (absent). Lines before the frame line, up to
// maxJunk bytes in all, are skipped and counted in junk. Anything else is
// an error matching ErrProtocol.
func readFrame(r *bufio.Reader, limit int) (content []byte, present bool, junk int, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return nil, false, junk, fmt.Errorf("%w: no frame (output ended after %d bytes)", ErrProtocol, junk+len(line))
			}
			return nil, false, junk, fmt.Errorf("read frame: %w", err)
		}
		i := bytes.Index(line, []byte(frameMagic))
		if err == nil && i >= 0 {
			junk += i
			arg := string(line[i+len(frameMagic) : len(line)-1])
			return frameBody(r, arg, limit, junk)
		}
		junk += len(line)
		if junk > maxJunk {
			return nil, false, junk, fmt.Errorf("%w: no frame in the first %d bytes", ErrProtocol, junk)
		}
	}
}

func frameBody(r *bufio.Reader, arg string, limit, junk int) ([]byte, bool, int, error) {
	if arg == frameMissing {
		return nil, false, junk, nil
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || strconv.Itoa(n) != arg {
		return nil, false, junk, fmt.Errorf("%w: bad frame size %q", ErrProtocol, arg)
	}
	if n > limit {
		return nil, false, junk, fmt.Errorf("%w: env file of %d bytes is over the %d byte limit", ErrProtocol, n, limit)
	}
	content := make([]byte, n)
	if _, err := io.ReadFull(r, content); err != nil {
		return nil, false, junk, fmt.Errorf("%w: frame of %d bytes cut short: %w", ErrProtocol, n, err)
	}
	return content, true, junk, nil
}
