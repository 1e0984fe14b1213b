<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/**
 * @var string $title
 * @var string $content (already escaped HTML)
 */
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title><?= e($title) ?> · hello-php</title>
  <link rel="stylesheet" href="/assets/style.css">
  <link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
</head>
<body>
  <header>
    <img src="/assets/logo.svg" alt="" width="32" height="32">
    <a href="/">hello-php</a>
  </header>
  <main>
<?= $content ?>
  </main>
  <footer>
    Served by <?= e(PHP_SAPI) ?> pid <?= e(getmypid()) ?> · PHP <?= e(PHP_VERSION) ?>
  </footer>
</body>
</html>
