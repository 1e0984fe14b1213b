/**
 * The engine as a library (dist/engine.js): for benchmarks, the soak test and
 * anyone embedding the pool. The CLI and the extension use the same pieces.
 */
export { startPoolServer, ConfigurationError, type PoolServer, type PoolServerOptions } from './gateway/poolServer';
export { createThreadedStartServer, type ThreadedServerHandle, type ThreadedServerOptions } from './engineThread/threadedServer';
export { HistoryEncoder, HistoryDecoder } from './engineThread/historyCodec';
export { Gateway, GatewayListenError, type GatewayEvent, type GatewayOptions } from './gateway/gateway';
export { Pool, Lease, PoolSaturatedError, PoolUnavailableError, defaultPoolOptions, type PoolOptions } from './pool/pool';
export type * from './pool/types';
export { FastCgiConnection } from './fastcgi/connection';
export { encodeParams } from './fastcgi/params';
export { RecordDecoder } from './fastcgi/records';
