#!/bin/bash
# The simplest rapido VM: say hello, then give it a zram block device.
set -e
echo "rapido: hello from $(hostname), kernel $(uname -r) on $(nproc 2>/dev/null || echo '?') CPU(s)"
modprobe zram num_devices=1
echo 64M > /sys/block/zram0/disksize
echo "rapido: zram0 ready, $(cat /sys/block/zram0/size) sectors"
