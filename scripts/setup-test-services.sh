#!/usr/bin/env bash
# Installs the Debian packages of the servers the end-to-end tests start and
# stop themselves (a Ceph cluster, ...) and that the server/client recipes
# put in their images (dropbear, samba, cifs-utils, open-iscsi, tgt, the NFS
# tools; openssh-client for rapido ssh). Not needed to use rapido.
set -euo pipefail
. "$(dirname "$0")/lib/apt-missing.sh"
# qemu-block-extra: QEMU's rbd driver (the qemu-rbd recipe).
# dropbear-bin: the dropbear recipe's server; openssh-client: the host side of its test and `rapido ssh`.
# radosgw, curl: the S3 server (Ceph RGW) the s3:// substituter tests run against (rapido-ceph-cluster
# --services rgw, test/helpers/rgw.ts); curl creates its bucket.
# samba, cifs-utils: the cifs recipe's server and client.
# open-iscsi: the iSCSI recipes' initiator (iscsid, iscsiadm); tgt: tgt-iscsi's target (tgtd, tgtadm).
# nfs-kernel-server (rpc.nfsd, exportfs, rpc.mountd, nfsdcld), nfs-common (mount.nfs,
# rpc.statd, sm-notify), rpcbind: the nfsd recipe's server and client.
# nginx: serves a pushed file:// layer cache read-only (the http:// substituter test starts its own on loopback).
debs=(ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common ceph-fuse rbd-nbd radosgw curl qemu-block-extra iproute2
	dropbear-bin openssh-client samba cifs-utils open-iscsi tgt nfs-kernel-server nfs-common rpcbind nginx)
# The recipes only copy these programs into images: the host must not start
# them (iscsid, rpcbind on port 111, the host kernel's nfsd; a started one
# would only see the host's network namespace, never a test's). A
# policy-rc.d that refuses every start is there in Debian's container images;
# elsewhere one is put in place for the install and removed after.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	[ "$(id -u)" = 0 ] || sudo=sudo
	trap '${sudo:-} rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# setup-test-services: no service starts while it installs\nexit 101\n' | ${sudo:-} tee "$policy" >/dev/null
	${sudo:-} chmod 0755 "$policy"
fi
apt_install_missing setup-test-services "${debs[@]}"
# ksmbd-tools (the ksmbd recipe's server) conflicts with samba: unpacked into a cache, not installed;
# on Debian 12 with bookworm-backports' kernel (scripts/fetch-backports-kernel.sh), which the ksmbd e2e boots.
"$(dirname "$0")/setup-ksmbd-tools.sh" >/dev/null
