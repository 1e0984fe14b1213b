<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $heading
 * @var string $message
 */
?>
<h1><?= e($heading) ?></h1>
<p class="note error"><?= e($message) ?></p>
<p><a href="/">Back to the list of examples</a></p>
