// Entry for the micro-benchmarks: internal pieces of the engine that
// dist/engine.js does not export. Bundled on the fly with esbuild by
// lib/internals.mjs (a build step, so bench/ never imports .ts directly).
export { buildCgiParams } from '../../src/gateway/cgiParams';
export { CgiHeaderParser } from '../../src/gateway/cgiResponse';
export { resolveRequest, defaultResolveConfig } from '../../src/gateway/resolve';
export { encodeRequest, encodeParams } from '../../src/fastcgi/params';
export { RecordDecoder, encodeRecord, encodeStreamRecords } from '../../src/fastcgi/records';
export { Pool } from '../../src/pool/pool';
export { startPoolServer } from '../../src/gateway/poolServer';
