<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $name
 * @var int $size
 * @var string $md5
 * @var string $clientType
 * @var string $detectedType
 */
?>
<h1>Upload received</h1>
<table>
  <tr><th>Name</th><td><?= e($name) ?></td></tr>
  <tr><th>Size</th><td><?= e($size) ?> bytes</td></tr>
  <tr><th>MD5</th><td><code><?= e($md5) ?></code></td></tr>
  <tr><th>Type (sent by the browser)</th><td><?= e($clientType) ?></td></tr>
  <tr><th>Type (detected by PHP)</th><td><?= e($detectedType) ?></td></tr>
</table>
<p>PHP deletes the temporary file when the request ends. <a href="/upload">Upload another</a></p>
