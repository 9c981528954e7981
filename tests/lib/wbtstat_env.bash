# wbtstat test helpers shared by wbtstat.bats, leaks.bats and valgrind.bats.

# wbt_target_events DEV N: N latency-target changes on the disk DEV, each one
# seen by a wbt timer run (what wbtstat -e reports as a "target" event once
# it has read the target at an earlier run): buffered writes to the device
# arm wbt's timer; the target alternates between 2000 and 3000 us.
wbt_target_events() {
	local dev=$1 n=$2 d i lat
	d=${dev#/dev/}
	for ((i = 0; i <= n; i++)); do
		dd if=/dev/zero of="$dev" bs=64k count=16 status=none conv=notrunc
		sync
		sleep 0.3
		[ "$i" -lt "$n" ] || break
		lat=$(cat "/sys/block/$d/queue/wbt_lat_usec")
		if [ "$lat" = 2000 ]; then lat=3000; else lat=2000; fi
		echo "$lat" >"/sys/block/$d/queue/wbt_lat_usec"
	done
}

# wbt_target_loop DEV: target changes on DEV until killed (run it in the background).
wbt_target_loop() {
	while :; do
		wbt_target_events "$1" 1
	done
}
