<?php

declare(strict_types=1);

// No database: the repository generates its rows from a seed, as a fixture
// would, so that every server renders byte-identical pages.
return [
    'driver' => 'fixture',
    'seed' => 20261204,
    'rows' => 200,
];
