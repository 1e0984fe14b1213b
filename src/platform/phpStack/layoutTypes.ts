/**
 * The shape of one PHP build's memory layout, as far as the stack reader
 * needs it. Every number comes from that PHP version's headers (see
 * layoutTables.ts for how each table was derived and checked).
 */

/** Byte offsets inside the engine's structures (names follow the C members). */
export interface PhpLayoutOffsets {
  /** `zend_executor_globals.current_execute_data` */
  egCurrentExecuteData: number;
  /** `zend_execute_data.opline` */
  exOpline: number;
  /** `zend_execute_data.func` */
  exFunc: number;
  /** `zend_execute_data.This.u1.type_info` (the low byte is This's type; call info above it) */
  exThisTypeInfo: number;
  /** `zend_execute_data.prev_execute_data` */
  exPrevExecuteData: number;
  /** `sizeof(zend_execute_data)`: how much one frame read fetches */
  exSize: number;
  /** `zend_function.type` (common to internal and user functions) */
  fnType: number;
  /** `zend_function.common.function_name` */
  fnFunctionName: number;
  /** `zend_function.common.scope` */
  fnScope: number;
  /** `zend_function.op_array.filename` (user code only) */
  fnFilename: number;
  /** `zend_class_entry.name` */
  ceName: number;
  /** `zend_string.gc.u.type_info` (the low 4 bits are the type, IS_STRING) */
  strTypeInfo: number;
  /** `zend_string.len` */
  strLen: number;
  /** `zend_string.val` */
  strVal: number;
  /** `zend_op.extended_value` */
  opExtendedValue: number;
  /** `zend_op.lineno` */
  opLineno: number;
  /** `zend_op.opcode` */
  opOpcode: number;
}

/** Engine constants the walk compares against (checked by the same probe). */
export interface PhpLayoutConstants {
  /** `ZEND_MODULE_API_NO`: identifies the minor version's ABI. */
  apiNo: number;
  internalFunction: number;
  userFunction: number;
  evalCode: number;
  isObject: number;
  isString: number;
  /** The `ZEND_INCLUDE_OR_EVAL` opcode, and the kinds in its extended_value. */
  includeOrEval: number;
  evalKind: number;
  includeKind: number;
  includeOnceKind: number;
  requireKind: number;
  requireOnceKind: number;
}

/** A CPU architecture whose tables we have. */
export type PhpStackArch = 'x86_64' | 'aarch64';

/** One table: a PHP minor version on one architecture, NTS, non-debug. */
export interface PhpLayout {
  /** `8.2` */
  phpMinor: string;
  arch: PhpStackArch;
  offsets: PhpLayoutOffsets;
  constants: PhpLayoutConstants;
}
