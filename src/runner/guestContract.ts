/**
 * The contract between the overlay layer (what the cut puts in the image)
 * and the guest init / QEMU runner (what reads it at boot). Both sides import
 * these names so they cannot drift apart.
 */

/** Our init, passed to the kernel as `rdinit=`. A POSIX sh script. */
export const GUEST_INIT_PATH = '/rapido-init';
/** Shell-sourceable `export KEY='value'` lines: the rapido.conf values the recipe uses. */
export const GUEST_ENV_PATH = '/rapido.env';
/** Autorun scripts, run in lexical order: `/rapido-autorun/NNN-<basename>`, mode 0755. */
export const GUEST_AUTORUN_DIR = '/rapido-autorun';
/** Post-autorun steps from `-x CMD` / `-f FILE`, run after the autoruns in lexical order: `/rapido-post/NNN`, mode 0755, `#!/bin/sh` for -x. */
export const GUEST_POST_DIR = '/rapido-post';
/** VM resources as Rapido encodes them: empty files `/rapido-rsc/cpu/<N>` and `/rapido-rsc/mem/<SIZE>`. */
export const GUEST_RSC_DIR = '/rapido-rsc';

/** Kernel command-line parameters the runner passes and the init reads. */
export const KPARAM_VM_NUM = 'rapido.vm_num';        // rapido.vm_num=N; steps see it as $RAPIDO_VM_NUM
export const KPARAM_HOSTNAME = 'rapido.hostname';    // rapido.hostname=NAME
export const KPARAM_EXIT = 'rapido.exit';            // rapido.exit=1: power off after the last step (non-interactive)

/**
 * Networking (the `network` directive): its layer puts the network script at
 * GUEST_NET_PATH, which the init runs once the hostname is set, and VM_NET_CONF
 * at GUEST_NET_CONF_DIR (Rapido's place: `vm<N>/<tap>.network`, `vm<N>/hostname`).
 * The runner says on the kernel command line what the VM got:
 *   rapido.net=tap|user|none
 *   rapido.nic=<tap>,<mac>     one per NIC, in QEMU's order; <tap> is USER_NIC in user mode
 *   rapido.share=<mount tag>   VIRTFS_SHARE_PATH is exported over 9p: mount it at /host
 *   rapido.net_apply=networkd  apply the .network files with systemd-networkd (when the image has it) instead of ip
 */
export const GUEST_NET_PATH = '/rapido-net';
export const GUEST_NET_CONF_DIR = '/rapido-rsc/net';
export const KPARAM_NET = 'rapido.net';
export const KPARAM_NIC = 'rapido.nic';
export const KPARAM_SHARE = 'rapido.share';
/** The user-mode NIC's name in rapido.nic= (and in its MAC derivation: vm<N>.user). */
export const USER_NIC = 'user';
/** Rapido's 9p mount tag for VIRTFS_SHARE_PATH. */
export const SHARE_MOUNT_TAG = 'host0';

/**
 * Non-interactive runs: the init's first line on the console, before any
 * step's output. The host takes what came before it (and before the kernel's
 * first record) for firmware output, kept out of stdout (consoleRouter.ts).
 */
export const GUEST_CONSOLE_MARKER = 'rapido-init: console';

/**
 * The guest reports its result on a serial port of its own, never on the
 * console, so nothing a step prints can fake it. One line:
 *   `rapido-status <N>` where N is 0 or the first failing step's exit status.
 * The port is COM4 (I/O port 0x2e8, IRQ 3), added by rapido as an explicit
 * isa-serial device on its own chardev: `-serial` options (rapido's console
 * first, unless the user puts their own on stdio) fill COM1 upwards, and one
 * that would reach COM4 is rejected up front.
 * The init finds the tty by that I/O port in sysfs (the kernel names it
 * ttyS3 unless it has fewer than 4 legacy UART slots), else uses ttyS3.
 */
export const GUEST_STATUS_IOPORT = 0x2e8;
export const GUEST_STATUS_IRQ = 3;
/** The ISA serial index QEMU gives the status port (COM4). */
export const GUEST_STATUS_SERIAL_INDEX = 3;
/** How /sys/class/tty/ttyS<N>/port shows GUEST_STATUS_IOPORT. */
export const GUEST_STATUS_SYSFS_PORT = '0x2E8';
export const GUEST_STATUS_TTY = '/dev/ttyS3';
export const GUEST_STATUS_PREFIX = 'rapido-status ';
/**
 * Before its status, on the same port, the guest lists the commands its steps
 * called that the image lacks (bash's command_not_found_handle, through
 * BASH_ENV), one line per call: `rapido-missing-command <NAME>`, at most
 * GUEST_MISSING_MAX lines. The host counts them and prints one line.
 */
export const GUEST_MISSING_COMMAND_PREFIX = 'rapido-missing-command ';
export const GUEST_MISSING_MAX = 1000;
