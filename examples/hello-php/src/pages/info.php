<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $php
 * @var string $sapi
 * @var int $pid
 * @var array<string, mixed> $server
 */
?>
<h1>Server info</h1>
<table>
  <tr><th>PHP version</th><td><?= e($php) ?></td></tr>
  <tr><th>SAPI</th><td><?= e($sapi) ?></td></tr>
  <tr><th>Worker pid</th><td><?= e($pid) ?></td></tr>
</table>
<h2><code>$_SERVER</code></h2>
<table>
<?php foreach ($server as $key => $value): ?>
  <tr><th><code><?= e($key) ?></code></th><td><?= $value === null ? '<em>not set</em>' : '<code>' . e(is_scalar($value) ? (string) $value : json_encode($value)) . '</code>' ?></td></tr>
<?php endforeach ?>
</table>
