# Shared benchmark helpers.  Source from bench/TOOL.sh.
# peak_rss_kb CMD...: peak resident set of a command (GNU time is not
# installed everywhere: read it from wait4's rusage through bash's own child).
peak_rss_kb() {
	"$B/tests/runstat" rss "$@"
}
# wall_ms CMD...: wall time of one run in milliseconds, output discarded.
wall_ms() {
	"$B/tests/runstat" ms "$@"
}
# median of numbers on stdin
median() {
	sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
# ratio A B with 2 decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f\n", a / b }'
}
