package hosts

import (
	"fmt"
	"sync"
)

// The most of a command's output Run keeps. A host answers with what it
// likes: a command that prints without end (`yes`, a log followed
// forever) must not take all of the laptop's memory, nor several hosts
// at once. Probe answers are the largest legitimate output (each file up
// to 1 MiB, base64-encoded, one line per probe), so standard output gets
// room for dozens of them; standard error is only ever shown, as the
// last lines of a failure.
const (
	MaxStdout = 64 << 20
	MaxStderr = 1 << 20
)

// headWriter keeps the first max bytes written to it and counts the rest,
// which it drops. It never fails a write: the command runs on, and the
// caller learns from Result.StdoutTruncated that what it has is not all.
type headWriter struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if room := w.max - len(w.buf); room < n {
		w.dropped += int64(n - max(room, 0))
		p = p[:max(room, 0)]
	}
	w.buf = append(w.buf, p...)
	return n, nil
}

func (w *headWriter) bytes() ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf, w.dropped > 0
}

// tailWriter keeps the last max bytes written to it: a failure message
// shows the end of standard error, where the reason usually is. What it
// dropped is said on a first line, so that nobody mistakes the rest for
// all of it.
type tailWriter struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if n >= w.max {
		w.dropped += int64(len(w.buf) + n - w.max)
		w.buf = append(w.buf[:0], p[n-w.max:]...)
		return n, nil
	}
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		// Shift within the same array: the buffer never grows past
		// twice max however much is written.
		w.dropped += int64(over)
		w.buf = w.buf[:copy(w.buf, w.buf[over:])]
	}
	return n, nil
}

func (w *tailWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropped == 0 {
		return w.buf
	}
	return append([]byte(fmt.Sprintf("[hako: %d earlier bytes of standard error dropped]\n", w.dropped)), w.buf...)
}
