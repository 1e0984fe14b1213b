<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $path
 */
?>
<h1>404 Not found</h1>
<p>No page at <code><?= e($path) ?></code>. <a href="/">Back to the list of examples</a>.</p>
