package sshd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoUser is returned when a login name is not in the passwd file.
var ErrNoUser = errors.New("no such user")

// User is one /etc/passwd entry plus its supplementary groups.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups from the group file
	Home   string   // "/" when the entry has none
	Shell  string   // "/bin/sh" when the entry has none
}

// ParsePasswd parses passwd(5) content. Comment, blank and malformed lines
// (wrong field count, non-numeric IDs) are skipped, as libc does.
func ParsePasswd(b []byte) []User {
	var users []User
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] == "" {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		u := User{Name: f[0], UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}
		if u.Home == "" {
			u.Home = "/"
		}
		if u.Shell == "" {
			u.Shell = "/bin/sh"
		}
		users = append(users, u)
	}
	return users
}

// ParseGroupsOf returns the IDs of the group(5) entries that list name as
// a member, skipping malformed lines.
func ParseGroupsOf(b []byte, name string) []uint32 {
	var ids []uint32
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(strings.TrimSuffix(line, "\r"), ":")
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m == name {
				ids = append(ids, uint32(gid))
				break
			}
		}
	}
	return ids
}

// lookupUser reads passwdPath (and groupPath, if it exists) and returns
// the first entry named name, or an error matching ErrNoUser.
func lookupUser(passwdPath, groupPath, name string) (User, error) {
	b, err := os.ReadFile(passwdPath)
	if err != nil {
		return User{}, fmt.Errorf("read passwd: %w", err)
	}
	for _, u := range ParsePasswd(b) {
		if u.Name != name {
			continue
		}
		if g, err := os.ReadFile(groupPath); err == nil {
			u.Groups = ParseGroupsOf(g, name)
		}
		return u, nil
	}
	return User{}, fmt.Errorf("user %q: %w", name, ErrNoUser)
}
