<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $name
 */
?>
<h1>Hello, <?= e($name) ?>!</h1>
<p>The name comes from the URL and is escaped with <code>htmlspecialchars()</code>,
so <a href="/hello/%3Cscript%3Ealert(1)%3C%2Fscript%3E"><code>/hello/&lt;script&gt;…</code></a> is harmless.</p>
