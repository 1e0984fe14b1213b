import { createServer } from 'node:net';

/**
 * Whether `port` on `host` can be bound right now. Only EADDRINUSE counts as
 * busy: any other error (EACCES, a bad host) is left for the real listen to
 * report with its own message. The answer can be stale a moment later, so
 * the caller still treats EADDRINUSE from the real listen as "try the next".
 */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}
