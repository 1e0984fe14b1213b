// Entry for bench/debugPause.mjs: the pool server and the DBGp framing its fake IDE speaks, bundled on the fly.
export { startPoolServer } from '../../src/gateway/poolServer';
export { EnginePacketDecoder, encodeIdeCommand } from '../../src/dbgp/framing';
export { detectXdebug } from '../../src/dbgp/xdebugDetect';
