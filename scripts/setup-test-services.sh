#!/usr/bin/env bash
# Installs the Debian packages of the servers the end-to-end tests start and
# stop themselves (a Ceph cluster, ...) and that the server/client recipes
# put in their images (dropbear, samba, cifs-utils, open-iscsi, tgt; openssh-client for
# rapido ssh). Not needed to use rapido.
set -euo pipefail
. "$(dirname "$0")/lib/apt-missing.sh"
# qemu-block-extra: QEMU's rbd driver (the qemu-rbd recipe).
# dropbear-bin: the dropbear recipe's server; openssh-client: the host side of its test and `rapido ssh`.
# samba, cifs-utils: the cifs recipe's server and client.
# open-iscsi: the iSCSI recipes' initiator (iscsid, iscsiadm); tgt: tgt-iscsi's target (tgtd, tgtadm).
# Only their binaries go into images: the host's own iscsid is never used (a
# container's policy-rc.d keeps it from starting; a started one only sees the
# host's network namespace, never the test's).
debs=(ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common ceph-fuse rbd-nbd qemu-block-extra iproute2
	dropbear-bin openssh-client samba cifs-utils open-iscsi tgt)
apt_install_missing setup-test-services "${debs[@]}"
