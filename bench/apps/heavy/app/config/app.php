<?php

declare(strict_types=1);

return [
    'name' => 'Heavy Shop Admin',
    'env' => 'local',
    'debug' => true,
    'timezone' => 'Europe/Paris',
    'log_level' => 'warning',
    'version' => '3.14.2',
];
