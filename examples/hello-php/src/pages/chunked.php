<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}
?>
<h1>Chunked</h1>
<p>This page left PHP in two pieces, 50 ms apart, and the second piece starts in the middle of the
closing <code>&lt;/body&gt;</code> tag. A server that edits pages as they stream (live reload adds
one script before that tag) must still add it exactly once.</p>
