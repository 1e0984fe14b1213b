/** DBGp (Xdebug's debugger protocol): framing, the pool's relay, Xdebug detection and worker arguments, the request trigger. */
export * from './framing';
export * from './packets';
export * from './debugState';
export * from './debugClient';
export * from './relayEvents';
export { DebugRelay, type DebugRelayOptions, type DebugRelayStats } from './relay';
export * from './xdebugDetect';
export * from './xdebugArgs';
export * from './trigger';
export * from './requestMatcher';
export type { Disposable } from './listeners';
