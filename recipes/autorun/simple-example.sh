#!/bin/bash
# The simplest rapido VM: say hello, then give it a zram block device.
set -e
read -r host < /proc/sys/kernel/hostname
cpus=$(grep -c ^processor /proc/cpuinfo 2>/dev/null || echo '?')
echo "rapido: hello from ${host}, kernel $(uname -r), ${cpus} CPU(s)"
modprobe zram num_devices=1
echo 64M > /sys/block/zram0/disksize
echo "rapido: zram0 ready, $(cat /sys/block/zram0/size) sectors"
