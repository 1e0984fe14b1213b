/**
 * FastCGI 1.0 wire constants (https://fastcgi-archives.github.io/FastCGI_Specification.html).
 * Kept as plain numbers in `as const` objects rather than enums so they inline
 * cleanly under `isolatedModules` and cost nothing on the hot path.
 */

/** The only protocol version there is; any other value in a header is garbage. */
export const FCGI_VERSION_1 = 1;

/** Record types (`FCGI_*` in the spec). */
export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;
/** One of the {@link RecordType} values. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** The highest record type defined by the spec; higher values are rejected by the decoder. */
export const MAX_RECORD_TYPE = RecordType.UnknownType;

/** Application roles for FCGI_BEGIN_REQUEST. php-cgi only implements Responder. */
export const Role = {
  Responder: 1,
  Authorizer: 2,
  Filter: 3,
} as const;
/** One of the {@link Role} values. */
export type Role = (typeof Role)[keyof typeof Role];

/** BEGIN_REQUEST flag: keep the connection open after END_REQUEST. */
export const FCGI_KEEP_CONN = 1;

/**
 * `protocolStatus` of FCGI_END_REQUEST: 0 request complete, 1 can't
 * multiplex the connection, 2 overloaded, 3 unknown role.
 */
export type ProtocolStatus = 0 | 1 | 2 | 3;

/** Request id reserved for management records (GET_VALUES and friends). */
export const FCGI_NULL_REQUEST_ID = 0;

/** Largest content of one record: the header's content length is 16 bits. */
export const MAX_CONTENT_LENGTH = 65535;

/** Size of a record header. */
export const HEADER_LENGTH = 8;

/** Size of FCGI_END_REQUEST's body (appStatus u32, protocolStatus u8, 3 reserved). */
export const END_REQUEST_BODY_LENGTH = 8;

/** Size of FCGI_BEGIN_REQUEST's body (role u16, flags u8, 5 reserved). */
export const BEGIN_REQUEST_BODY_LENGTH = 8;
