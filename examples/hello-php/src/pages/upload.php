<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $upload_max_filesize
 * @var string $post_max_size
 * @var array{code: string, reason: string}|null $error
 */
$error ??= null;
?>
<h1>Upload</h1>
<?php if ($error !== null): ?>
<p class="note error"><strong>Upload failed: <?= e($error['code']) ?></strong><br><?= e($error['reason']) ?></p>
<?php endif ?>
<p>Files up to <code>upload_max_filesize</code> = <?= e($upload_max_filesize) ?>,
(whole request up to <code>post_max_size</code> = <?= e($post_max_size) ?>).</p>
<form method="post" action="/upload" enctype="multipart/form-data">
  <label>File <input type="file" name="file" required></label>
  <button type="submit">Upload</button>
</form>
