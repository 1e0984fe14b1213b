/** FastCGI client: wire constants, record codec, params codec and the worker connection. */
export * from './protocol';
export * from './records';
export * from './params';
export * from './connection';
