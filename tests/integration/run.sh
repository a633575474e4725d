#!/usr/bin/env bash
# Run the integration tests against the ocelot binary in $OCELOT_BIN.
#   tests/integration/run.sh              every test_*.sh and test_*.mjs here
#   tests/integration/run.sh NAME…        only these (file names, with or without suffix)
# Each test runs with a timeout (OCL_TEST_TIMEOUT, default 300 s); exit status
# 77 means skipped (the test's last output line says why). Ends with the line
# "N passed, N failed, N skipped" and exits non-zero if any test failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -z "${OCELOT_BIN:-}" ]; then
	echo "run.sh: OCELOT_BIN is not set (path to the ocelot binary)" >&2
	exit 2
fi
if [ ! -x "$OCELOT_BIN" ]; then
	echo "run.sh: OCELOT_BIN=$OCELOT_BIN is missing or not executable" >&2
	exit 2
fi
OCELOT_BIN=$(cd "$(dirname "$OCELOT_BIN")" && pwd)/$(basename "$OCELOT_BIN")
export OCELOT_BIN

"$root/scripts/npm-deps" || { echo "run.sh: installing node packages failed" >&2; exit 2; }

timeout_s=${OCL_TEST_TIMEOUT:-300}
tests=()
if [ $# -gt 0 ]; then
	for a in "$@"; do
		a=$(basename "$a")
		if [ -f "$here/$a" ]; then tests+=("$here/$a")
		elif [ -f "$here/$a.sh" ]; then tests+=("$here/$a.sh")
		elif [ -f "$here/$a.mjs" ]; then tests+=("$here/$a.mjs")
		else echo "run.sh: no test named $a" >&2; exit 2
		fi
	done
else
	shopt -s nullglob
	tests=("$here"/test_*.sh "$here"/test_*.mjs)
	shopt -u nullglob
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	name=$(basename "$t")
	case "$t" in
	*.sh) cmd=(bash "$t") ;;
	*.mjs) cmd=(node "$t") ;;
	esac
	start=$SECONDS
	(cd "$here" && timeout -k 10 "$timeout_s" "${cmd[@]}") >"$out/log" 2>&1 </dev/null
	rc=$?
	dur=$((SECONDS - start))
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${dur}s)"
		passed=$((passed + 1))
	elif [ "$rc" -eq 77 ]; then
		reason=$(grep -v '^[[:space:]]*$' "$out/log" | tail -n 1)
		echo "SKIP $name: ${reason#SKIP: }"
		skipped=$((skipped + 1))
	else
		if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$dur" -ge "$timeout_s" ]; }; then
			echo "FAIL $name (timed out after ${timeout_s}s)"
		else
			echo "FAIL $name (exit $rc, ${dur}s)"
		fi
		echo "---- output of $name (last 80 lines) ----"
		tail -n 80 "$out/log" | sed 's/^/    /'
		echo "----"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
