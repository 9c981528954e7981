#!/usr/bin/env bash
# fieldscheck.sh TOOL_BINARY MAN_PAGE
# The man page's FIELDS section and the tool's schemas (--list-fields) name
# the same fields: every field that JSON or Prometheus carries is documented,
# and every field the page documents exists.  Documented names are the bold
# words of the line after each .TP (".B name" or ".BR a \", \" b \" (label)\"").
# The standard fields of bpfscope-output(7) may be named but need not be.
# Prints each difference; exits 1 when there is one.
set -euo pipefail
bin=$1 page=$2
# (and a graph's structure: id, kind, from, to)
standard=" ts tool type run view version start_time_seconds snapshot_timestamp_seconds lost_events missed_events info id kind from to "

schema=$("$bin" --list-fields | jq -r 'select(.json or .prom != null) | .name' | sort -u)
documented=$(awk '
	/^\.SH / { infields = ($2 == "FIELDS") ; next }
	!infields { next }
	/^\.TP/ { tp = 1; next }
	tp {
		tp = 0
		if ($0 !~ /^\.B[R]? /) next
		macro = ($0 ~ /^\.BR /) ? "BR" : "B"
		line = substr($0, index($0, " ") + 1)
		# split into arguments, honouring double quotes
		n = 0; arg = ""; inq = 0; have = 0
		for (i = 1; i <= length(line); i++) {
			c = substr(line, i, 1)
			if (c == "\"") { inq = !inq; have = 1; continue }
			if (c == " " && !inq) { if (have) { args[n++] = arg; arg = ""; have = 0 } continue }
			arg = arg c; have = 1
		}
		if (have) args[n++] = arg
		for (k = 0; k < n; k++) {
			if (macro == "BR" && k % 2) continue
			if (args[k] ~ /^[a-z][a-z0-9_]*$/) print args[k]
		}
	}' "$page" | sort -u)

rc=0
for f in $schema; do
	grep -qx "$f" <<<"$documented" || { echo "$page: field $f is not documented in FIELDS"; rc=1; }
done
for f in $documented; do
	[[ $standard == *" $f "* ]] && continue
	grep -qx "$f" <<<"$schema" || { echo "$page: FIELDS documents $f, which $(basename "$bin") does not print"; rc=1; }
done
exit $rc
