// The PHP app every target serves: the same files, copied into a temp dir
// that every server user can read (apache drops to www-data).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PAGES = {
  'hello.php': `<?php\necho "Hello, world!\\n";\n`,
  // ~50 items, encoded as JSON: a typical small API response (~4 KB).
  'json.php': `<?php
header('Content-Type: application/json');
$items = [];
for ($i = 1; $i <= 50; $i++) {
    $items[] = ['id' => $i, 'name' => "Item $i", 'price' => round($i * 1.37, 2), 'tags' => ['a', 'b', 'c'], 'active' => $i % 2 === 0];
}
echo json_encode(['count' => count($items), 'items' => $items]);
`,
  'sleep.php': `<?php\nusleep(10000);\necho "slept 10 ms\\n";\n`,
  // Reads the whole body (the bench posts 10 KB) and answers its size and a checksum.
  'post.php': `<?php\n$body = file_get_contents('php://input');\necho strlen($body), ' ', crc32($body), "\\n";\n`,
};

/** Name of the static file (100 KB). */
export const STATIC_FILE = 'static-100k.txt';
export const STATIC_BYTES = 100 * 1024;

/** Creates the app in a fresh world-readable temp dir; returns its path. */
export function createApp() {
  const dir = mkdtempSync(join(tmpdir(), 'fcgi-bench-app-'));
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(PAGES)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o644);
  }
  const line = 'The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuvwxyz\n';
  writeFileSync(join(dir, STATIC_FILE), line.repeat(Math.ceil(STATIC_BYTES / line.length)).slice(0, STATIC_BYTES));
  chmodSync(join(dir, STATIC_FILE), 0o644);
  return dir;
}
