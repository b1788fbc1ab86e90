# smolvm envsync v1: the guest side of one env operation. The host puts
# m (list|update), f (env file) and lm (auto|flock|link) in front of this
# text and runs it as a raw SSH command. Values never appear here: they
# travel on stdin and stdout. See the envsync package documentation.
unset -f '[' cat chmod command dd exit flock head kill ln mv printf read readlink rm set shopt sleep sync test trap wc 2>/dev/null
set +a +e +f +u +v +x +C
IFS=' 	
'
unset ENV BASH_ENV CDPATH GLOBIGNORE TMOUT 2>/dev/null
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
umask 022
if [ -n "${BASH_VERSION-}" ]; then
	shopt -u failglob nullglob dotglob extglob nocaseglob xpg_echo 2>/dev/null
fi
d=${f%/*}
b=${f##*/}
t=
held=

say() { printf 'smolvm-env: %s\n' "$*" >&2; }

unlock() {
	case $held in
	flock) exec 9>&- ;;
	link) rm -f "$d/.$b.lock" ;;
	esac
	held=
}

die() {
	trap '' PIPE
	if [ -n "$t" ]; then rm -f "$t"; fi
	unlock
	say "$*"
	exit 1
}

trap 'die interrupted' HUP INT TERM
trap 'die "output closed"' PIPE

# starttime PID sets st to the start time (clock ticks since boot) of a
# live, non-zombie PID, from /proc; it fails when that is unknown. It forks
# nothing, so waiters polling a lock stay cheap.
starttime() {
	st=
	{ IFS= read -r st <"/proc/$1/stat"; } 2>/dev/null || [ -n "$st" ] || return 1
	st=${st##*[)]}
	set -- $st
	st=
	[ $# -ge 20 ] && [ "$1" != Z ] || return 1
	st=${20}
}

# alive TOKEN succeeds when the link-lock owner TOKEN (pid:start:bootid)
# still runs. Garbage is dead, so a broken lock never blocks for ever.
alive() {
	case $1 in
	[0-9]*:*:*) ;;
	*) return 1 ;;
	esac
	al_pid=${1%%:*}
	al_rest=${1#*:}
	al_st=${al_rest%%:*}
	al_boot=${al_rest#*:}
	case $al_pid in *[!0-9]*) return 1 ;; esac
	if [ -n "$al_boot" ] && [ -n "$boot" ] && [ "$al_boot" != "$boot" ]; then
		return 1
	fi
	if [ -n "$al_st" ] && [ -r /proc/self/stat ]; then
		starttime "$al_pid" && [ "$st" = "$al_st" ]
		return
	fi
	kill -0 "$al_pid" 2>/dev/null
}

# pause sleeps a little longer each time: 10 ms doubling up to 320 ms.
pause() {
	sleep "0.$nap" 2>/dev/null || sleep 1
	case $nap in
	01) nap=02 ;;
	02) nap=04 ;;
	04) nap=08 ;;
	08) nap=16 ;;
	*) nap=32 ;;
	esac
}

# lock_link takes the lock without flock(1): a symlink whose target is the
# owner's token, created atomically by ln -s. A lock whose owner is dead is
# broken under a second symlink lock, re-checked before removal, so two
# waiters never both remove it.
lock_link() {
	lk="$d/.$b.lock"
	boot=
	{ IFS= read -r boot </proc/sys/kernel/random/boot_id; } 2>/dev/null
	starttime $$
	me="$$:$st:$boot"
	miss=0
	nap=01
	while :; do
		if ln -s "$me" "$lk" 2>/dev/null; then
			held=link
			return
		fi
		cur=$(readlink "$lk" 2>/dev/null)
		if [ -z "$cur" ]; then
			if [ -e "$lk" ] && [ ! -h "$lk" ]; then die "lock $lk is not a symlink"; fi
			miss=$((miss + 1))
			if [ "$miss" -ge 3 ]; then die "cannot create lock $lk"; fi
			continue
		fi
		miss=0
		if alive "$cur"; then
			pause
			continue
		fi
		if ln -s "$me" "$lk.break" 2>/dev/null; then
			if [ "$(readlink "$lk" 2>/dev/null)" = "$cur" ]; then rm -f "$lk"; fi
			rm -f "$lk.break"
		else
			bcur=$(readlink "$lk.break" 2>/dev/null)
			if [ -n "$bcur" ] && ! alive "$bcur"; then rm -f "$lk.break"; fi
			pause
		fi
	done
}

lock_flock() {
	fl="$d/.$b.flock"
	# command: a failed redirection on plain exec would end the shell
	command exec 9>>"$fl" || die "cannot open lock $fl"
	flock -x 9 || die "flock $fl failed"
	held=flock
}

lock() {
	case $lm in
	flock) lock_flock ;;
	link) lock_link ;;
	*) if command -v flock >/dev/null 2>&1; then lock_flock; else lock_link; fi ;;
	esac
}

# frame prints the current file as "SMOLVM-ENV 1 <nbytes>" and the bytes,
# or "SMOLVM-ENV 1 missing". The file is read once into a variable, so the
# size always matches the bytes sent even when a writer renames a new file
# in between (list takes no lock).
frame() {
	if [ ! -e "$f" ] && [ ! -h "$f" ]; then
		printf 'SMOLVM-ENV 1 missing\n'
		return
	fi
	c=$(cat -- "$f" 9>&- && printf x) || die "cannot read $f"
	c=${c%x}
	n=$(printf '%s' "$c" | wc -c) || die "cannot count $f"
	set -- $n
	printf 'SMOLVM-ENV 1 %s\n%s' "$1" "$c"
}

case $m in
list)
	frame
	exit 0
	;;
update) ;;
*) die "unknown mode" ;;
esac

lock
# Writers hold the lock while a temp file exists, so any temp file seen
# now was left by a writer that died: remove it.
rm -f "$d/.$b.tmp."* 9>&-
frame
IFS= read -r h || die "no reply from host"
case $h in
-)
	unlock
	printf 'OK\n'
	exit 0
	;;
0 | [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9][0-9][0-9] | [1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;;
*) die "bad reply from host" ;;
esac
t="$d/.$b.tmp.$$"
head -c "$h" >"$t" 9>&- || die "cannot write $t"
n=$(wc -c <"$t") || die "cannot size $t"
set -- $n
[ "$1" = "$h" ] || die "short input: got $1 of $h bytes"
chmod 0644 "$t" || die "cannot chmod $t"
dd if=/dev/null of="$t" conv=notrunc,fsync 2>/dev/null 9>&- || sync
if [ -d "$f" ]; then die "$f is a directory"; fi
mv -f "$t" "$f" || die "cannot rename $t"
t=
unlock
printf 'OK\n'
