<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var array<string, string> $fields
 */
?>
<h1>Form submitted</h1>
<?php if ($fields === []): ?>
<p class="note">The form arrived empty.</p>
<?php else: ?>
<table>
  <tr><th>Field</th><th>Value</th></tr>
<?php foreach ($fields as $field => $value): ?>
  <tr><td><code><?= e($field) ?></code></td><td><?= nl2br(e($value)) ?></td></tr>
<?php endforeach ?>
</table>
<?php endif ?>
<p><a href="/form">Send another</a></p>
