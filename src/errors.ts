/**
 * Every code a RapidoError carries. Stable strings (scripts and tests match on
 * them); a union so that a misspelt code does not compile. Add new ones here.
 */
export type ErrorCode =
  | 'AMBIGUOUS_KEY'
  | 'AUDIT_NO_LAYER'
  | 'AUTORUN_MISSING'
  | 'BAD_CPUS'
  | 'BAD_HOSTNAME'
  | 'BAD_KEY'
  | 'BAD_KEY_NAME'
  | 'BAD_MEM'
  | 'BAD_PIN_NAME'
  | 'BAD_RECIPE'
  | 'BAD_TIMEOUT'
  | 'BIN_LIB_MISSING'
  | 'BIN_NOT_FOUND'
  | 'BIN_SHIM'
  | 'CEPH_CONFIG'
  | 'COMPOSE_FAILED'
  | 'CONF_MISSING'
  | 'CONF_SYNTAX'
  | 'CONF_UNREADABLE'
  | 'CPIO_BAD_ENTRY'
  | 'CPIO_BAD_PATH'
  | 'CPIO_CORRUPT'
  | 'CPIO_DUPLICATE_PATH'
  | 'CPIO_FIELD_RANGE'
  | 'CPIO_SOURCE_CHANGED'
  | 'CPIO_SOURCE_UNREADABLE'
  | 'DISK_FULL'
  | 'DRACUT_FAILED'
  | 'DRACUT_MISSING'
  | 'ELF_CORRUPT'
  | 'ELF_NOT_FOUND'
  | 'ELF_UNREADABLE'
  | 'EXPORT_CORRUPT'
  | 'EXPORT_MISSING'
  | 'EXPORT_PIPE'
  | 'EXPORT_UNKNOWN'
  | 'FILE_MISSING'
  | 'GC_BUSY'
  | 'HASHER_NOT_READY'
  | 'HOST_SYMLINK_LOOP'
  | 'IMAGE_NOT_FOUND'
  | 'IMPORT_BAD_ARCHIVE'
  | 'IMPORT_BAD_ENTRY'
  | 'IMPORT_BAD_MANIFEST'
  | 'IMPORT_BAD_SIGNATURE'
  | 'IMPORT_NOT_FOUND'
  | 'IMPORT_TAMPERED'
  | 'IMPORT_TRUNCATED'
  | 'IMPORT_UNSIGNED'
  | 'IMPORT_UNTRUSTED'
  | 'IMPORT_VERSION'
  | 'INFO_UNKNOWN'
  | 'INSTALL_BROKEN'
  | 'INTERRUPTED'
  | 'KERNEL_CONFLICT'
  | 'KERNEL_NOT_FOUND'
  | 'KERNEL_SRC_UNBUILT'
  | 'KEY_EXISTS'
  | 'KEY_NAME_TAKEN'
  | 'KEY_NOT_TRUSTED'
  | 'KEY_UNREADABLE'
  | 'KMOD_DIR_MISSING'
  | 'KMOD_INDEX_MISSING'
  | 'KMOD_NOT_FOUND'
  | 'KVM_UNAVAILABLE'
  | 'LOCK_TIMEOUT'
  | 'NET_CONF'
  | 'NET_CONF_MISSING'
  | 'NET_HOSTFWD'
  | 'NET_IP_FAILED'
  | 'NET_NAME_TAKEN'
  | 'NET_NOT_IN_IMAGE'
  | 'NET_NOT_ROOT'
  | 'NET_NO_IPROUTE2'
  | 'NET_NO_TAP'
  | 'NET_TAP_MISSING'
  | 'NET_TAP_OWNER'
  | 'NO_IMAGE'
  | 'NO_KERNEL'
  | 'NO_VM_SLOT'
  | 'OBJECT_SIZE_MISMATCH'
  | 'OUT_UNWRITABLE'
  | 'PID_DIR'
  | 'PIN_NO_CUT'
  | 'PIN_UNKNOWN'
  | 'PUSH_FAILED'
  | 'PUSH_NO_KEY'
  | 'PUSH_NO_TARGET'
  | 'PUSH_READ_ONLY'
  | 'QEMU_ARGS'
  | 'QEMU_FAILED'
  | 'QEMU_NOT_FOUND'
  | 'RECIPE_BAD_NAME'
  | 'RECIPE_INCLUDE_CYCLE'
  | 'RECIPE_NOT_FOUND'
  | 'RECIPE_SYNTAX'
  | 'SHELL_SYNTAX'
  | 'STORE_CORRUPT'
  | 'STORE_DB_CORRUPT'
  | 'STORE_DB_MISSING'
  | 'STORE_MISSING'
  | 'STORE_OPEN'
  | 'STORE_READONLY'
  | 'STORE_UNWRITABLE'
  | 'STORE_VERSION'
  | 'SUBSTITUTER_SCHEME'
  | 'SUBSTITUTER_URL'
  | 'TREE_LIB_MISSING'
  | 'TREE_MISSING'
  | 'USAGE'
  | 'VIRTFS_PATH'
  | 'VM_BUSY'
  | 'VM_NOT_RUNNING'
  | 'SSH_NO_CLIENT';

/**
 * The one error type rapido raises on purpose. `code` is stable (scripts may
 * match on it), `hint` tells the user what to do next. The CLI formats these
 * in one place (src/cli/reportError.ts) and sets the exit code there.
 */
export class RapidoError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RapidoError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export function isRapidoError(e: unknown): e is RapidoError {
  return e instanceof RapidoError;
}
