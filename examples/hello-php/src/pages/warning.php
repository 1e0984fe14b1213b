<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var mixed $colour
 */
?>
<h1>Warning</h1>
<p>This request read a missing array key, so PHP raised
<code>Warning: Undefined array key "colour"</code> and used
<code><?= e(var_export($colour, true)) ?></code> instead.</p>
<p>The page still renders: with <code>display_errors=Off</code> and <code>log_errors=On</code> the warning is
not in this page but in the FastCGI stderr stream of worker pid <?= e(getmypid()) ?>.</p>
