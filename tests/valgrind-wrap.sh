#!/usr/bin/env bash
# exe_wrapper of the 'valgrind' test setup (tests/meson.build):
#   valgrind-wrap.sh BUILD_ROOT PROGRAM ARGS...
# A Criterion test runs under valgrind, its worker processes traced. A shell
# test (PROGRAM is bash) runs natively: bash has leaks of its own, and every
# line of a script interpreted under valgrind is what made the shell tests
# 10-20x slower. Instead each argument that is one of our built programs
# (the provdesk binary the scripts take as $1) is replaced by a shim that
# runs it under valgrind, so every provdesk the script starts is checked.
# One log per checked process, BUILD_ROOT/vg-PID.log; a non-empty log is a
# failure (.ci/test prints them).
set -u
root=$1
shift
vg=(valgrind -q --trace-children=yes
	# system programs (sh, python3, tmux, sqlite3…) have their own leaks
	'--trace-children-skip=/usr/bin/*,/bin/*,/usr/sbin/*,/sbin/*,*/python3*'
	--leak-check=full
	# only definite leaks: a forked test child (store concurrency) inherits
	# Criterion's nanomsg buffers whose owner threads do not exist after
	# fork(), so they show as 'possibly lost' in every child's log.
	--show-leak-kinds=definite --errors-for-leak-kinds=definite
	# the loader's own allocations in dlopen (the file says which); deep
	# enough stacks to see that they come from our pd_dl_load
	"--suppressions=$(dirname "${BASH_SOURCE[0]}")/valgrind.supp" --num-callers=24
	"--log-file=$root/vg-%p.log")

if [[ ${1##*/} != bash ]]; then
	exec "${vg[@]}" "$@"
fi

shims=$(mktemp -d "${TMPDIR:-/tmp}/pd-vg.XXXXXX")
trap 'rm -rf "$shims"' EXIT
args=()
for a in "$@"; do
	if [[ $a == "$root"/* && -f $a && -x $a ]]; then
		shim=$shims/${a##*/}
		{
			echo '#!/bin/bash'
			printf 'exec'
			printf ' %q' "${vg[@]}" "$a"
			printf ' "$@"\n'
		} >"$shim"
		chmod +x "$shim"
		a=$shim
	fi
	args+=("$a")
done
# not exec: the trap removes the shims when the script ends
"${args[@]}"
