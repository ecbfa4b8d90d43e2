# Sourced by the fstests and blktests autoruns (bash): what to run, and an
# honest status for it.

# suite_run TAG VERDICT COMMAND: runs COMMAND (shell text), showing its
# output. The status is COMMAND's, or 1 when it is 0 but `VERDICT OUTFILE`
# prints a reason (check exits 0 in some failures). Then `TAG_after OUTFILE`
# runs when the suite defines one.
suite_run() {
	local tag=$1 verdict=$2 out=/tmp/$1-check.out st=0 why
	set +e
	eval "$3" 2>&1 | tee "$out"
	st=${PIPESTATUS[0]}
	set -e
	if [ "$st" -eq 0 ] && why=$("$verdict" "$out") && [ -n "$why" ]; then
		echo "$tag: $why; failing the run" >&2
		st=1
	fi
	if declare -F "${tag}_after" >/dev/null; then "${tag}_after" "$out"; fi
	return "$st"
}

# suite_main TAG VERDICT AUTORUN_CMD QUICK: AUTORUN_CMD when set; else
# nothing when -x/-f steps follow (they run the tests); else ./check QUICK.
suite_main() {
	local tag=$1 verdict=$2 cmd=$3 quick=$4 var
	var=$(echo "$tag" | tr a-z A-Z)_AUTORUN_CMD
	if [ -n "$cmd" ]; then
		suite_run "$tag" "$verdict" "$cmd"
	elif ls /rapido-post/* > /dev/null 2>&1; then
		: # -x/-f steps follow and run the tests
	elif [ -n "$quick" ]; then
		echo "$tag: quick set: ./check $quick (set $var or use -x to run others)"
		suite_run "$tag" "$verdict" "./check $quick"
	fi
}
