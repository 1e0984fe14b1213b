/**
 * Run by test/integration/phpStack-user.test.ts as an unprivileged user
 * (bundled by esbuild, started through `setpriv`): this process is then an
 * ordinary parent, as the pool is on a developer's machine. It starts its
 * own php-cgi worker on `script`, reads that worker's stack, tries to read
 * `foreignPid` (a worker of another user, which must be refused), prints one
 * JSON line and stops its worker.
 *
 *   node phpStackAsUser.cjs PHP_CGI SCRIPT FOREIGN_PID
 */
import { FastCgiConnection } from '../../src/fastcgi';
import { PhpStackReader } from '../../src/platform/phpStack';
import { stopProcessGroup } from '../../src/platform/processControl';
import { createSocketDir, removeSocketDir, spawnWorker } from '../../src/platform/spawnWorker';
import { requestParams } from './phpStackWorkers';

async function main(): Promise<void> {
  const [phpCgi, script, foreign] = process.argv.slice(2) as [string, string, string];
  const socketDir = createSocketDir();
  const reader = new PhpStackReader();
  const worker = await spawnWorker({ command: phpCgi, args: [], env: process.env, cwd: '/', socketDir, name: 'as-user', parentDeathSignal: true });
  try {
    const connection = await FastCgiConnection.connect(worker.address, { timeoutMs: 5_000 });
    const ignore = (): void => undefined;
    connection.beginRequest(
      requestParams(script, '', false),
      { onStdout: ignore, onStderr: ignore, onEnd: ignore, onError: ignore },
      { stdin: Buffer.alloc(0) },
    );
    const deadline = Date.now() + 5_000;
    while (!/nanosleep/.test(reader.waits.read(worker.pid).syscall ?? '') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const own = reader.sample(worker.pid);
    const foreignRead = reader.readStack(Number(foreign));
    process.stdout.write(`${JSON.stringify({ uid: process.getuid?.(), own, foreign: foreignRead })}\n`);
    connection.destroy();
  } finally {
    await stopProcessGroup(worker.child, 300);
    reader.dispose();
    removeSocketDir(socketDir);
  }
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  process.exitCode = 1;
});
