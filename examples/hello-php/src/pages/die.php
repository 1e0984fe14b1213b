<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var int $pid
 * @var string $how
 */
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Dying · hello-php</title>
  <link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<main>
<h1>This worker is about to die</h1>
<p class="note error">This is deliberate. Worker pid <?= e($pid) ?> now kills itself with SIGKILL
(via <code><?= e($how) ?></code>) in the middle of this request, so the rest of this page never arrives
and the server never gets the end of the FastCGI request: the worker's lease leaks.</p>
