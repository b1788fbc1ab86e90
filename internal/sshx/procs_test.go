package sshx

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// markedProcs returns the PIDs of processes whose environment holds
// SSHX_MARK=mark: the processes a test's commands started, and nobody
// else's.
func markedProcs(t *testing.T, mark string) map[int]string {
	t.Helper()
	want := []byte("SSHX_MARK=" + mark)
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Error(err)
		return nil
	}
	found := map[int]string{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue // exited meanwhile, or a kernel thread
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
				stat, _ := os.ReadFile(filepath.Join(d, "stat"))
				if bytes.Contains(stat, []byte(") Z ")) {
					break // a zombie is gone for our purpose
				}
				found[pid] = string(bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '}))
				break
			}
		}
	}
	return found
}

// killMarked kills, by PID, the processes carrying mark (test cleanup).
func killMarked(t *testing.T, mark string) {
	for pid := range markedProcs(t, mark) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// descendants returns every live descendant of pid, children first.
func descendants(pid int) []int {
	parent := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, err1 := strconv.Atoi(string(f[1]))
		p, err2 := strconv.Atoi(filepath.Base(d))
		if err1 == nil && err2 == nil {
			parent[ppid] = append(parent[ppid], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range parent[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}
