<?php

declare(strict_types=1);

return [
    'default' => 'en',
    'currency' => 'EUR',
    'decimals' => 2,
    'date_format' => 'Y-m-d H:i',
];
