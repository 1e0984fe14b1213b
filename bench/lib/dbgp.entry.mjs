// Entry for bench/dbgp.mjs: the DBGp relay and what it needs to drive real
// php-cgi workers, bundled on the fly (bench/ never imports .ts directly).
export * from '../../src/dbgp';
export { FastCgiConnection } from '../../src/fastcgi/connection';
export { createSocketDir, removeSocketDir, spawnWorker } from '../../src/platform/spawnWorker';
export { stopProcessGroup } from '../../src/platform/processControl';
