#!/bin/bash
# Two zram devices concatenated by dm-linear: a small device-mapper stack to
# build on with dmsetup (delay, flakey, snapshot... are in the image).
set -e
. /usr/lib/rapido/storage-lib.sh
a=$(zram_dev "${DM_ZRAM_SIZE:-32M}")
b=$(zram_dev "${DM_ZRAM_SIZE:-32M}")
sa=$(blockdev --getsz "$a")
sb=$(blockdev --getsz "$b")
dmsetup create rapido-linear <<TABLE
0 $sa linear $a 0
$sa $sb linear $b 0
TABLE
wait_for /dev/mapper/rapido-linear >/dev/null
echo "dm: /dev/mapper/rapido-linear = $a + $b ($((sa + sb)) sectors)"
dmsetup table rapido-linear
