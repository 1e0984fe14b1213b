<?php

declare(strict_types=1);

// Front controller of the page-load benchmark's heavier app: every path that
// is not a file comes here (try_files / FallbackResource / the built-in
// server's index.php fallback / our front controller).

$kernel = require dirname(__DIR__) . '/app/bootstrap.php';
$kernel->handle(Heavy\Request::fromGlobals())->send();
