#!/bin/bash
# An fio verify job on a fresh zram device: fio writes with checksums, reads
# everything back and fails on the first mismatch; its status is the step's.
set -e
. /usr/lib/rapido/storage-lib.sh
dev=$(zram_dev "${ZRAM_FIO_SIZE:-128M}")
echo "zram-fio: $dev, ${ZRAM_FIO_SIZE:-128M}"
# shellcheck disable=SC2086 # ZRAM_FIO_ARGS is a word list on purpose
fio --name=zram-verify --filename="$dev" --direct=1 --size="${ZRAM_FIO_SIZE:-128M}" \
	--verify=crc32c --verify_fatal=1 --do_verify=1 $ZRAM_FIO_ARGS
echo "zram-fio: verify job passed"
