<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string|null $requested
 * @var int $ms
 * @var float $slept
 */
?>
<h1>Slow</h1>
<p>Slept <strong><?= e($ms) ?> ms</strong> (measured <?= e(number_format($slept, 1, '.', '')) ?> ms).</p>
<?php if ($requested === null): ?>
<p>That is the default; add <code>?ms=N</code> to choose (0 to 60000).</p>
<?php elseif ($requested !== (string) $ms): ?>
<p class="note">You asked for <code>ms=<?= e($requested) ?></code>; the value must be a whole number from 0 to 60000.</p>
<?php endif ?>
<p>While it slept, this worker (pid <?= e(getmypid()) ?>) was busy and could not take other requests.
Try <a href="/slow?ms=10000">/slow?ms=10000</a> in a few tabs at once.</p>
