<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var array<string, mixed> $received
 * @var int $visits
 */
?>
<h1>Cookies</h1>
<p>This response sets two cookies with two <code>Set-Cookie</code> headers:
<code>visits=<?= e($visits) ?></code> and <code>flavour=chocolate-chip</code>.</p>
<h2>Received with this request</h2>
<?php if ($received === []): ?>
<p>No cookies yet. <a href="/cookie">Reload</a> to send them back.</p>
<?php else: ?>
<table>
  <tr><th>Name</th><th>Value</th></tr>
<?php foreach ($received as $name => $value): ?>
  <tr><td><code><?= e((string) $name) ?></code></td><td><?= e(is_string($value) ? $value : json_encode($value)) ?></td></tr>
<?php endforeach ?>
</table>
<?php endif ?>
