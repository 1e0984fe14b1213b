<?php

declare(strict_types=1);

/*
 * The "database" behind /api/users: a fixed list, returned by `require`.
 */

if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

return [
    ['id' => 1, 'name' => 'Ada Lovelace', 'email' => 'ada@example.com', 'role' => 'admin'],
    ['id' => 2, 'name' => 'Alan Turing', 'email' => 'alan@example.com', 'role' => 'editor'],
    ['id' => 3, 'name' => 'Grace Hopper', 'email' => 'grace@example.com', 'role' => 'editor'],
    ['id' => 4, 'name' => 'Rasmus Lerdorf', 'email' => 'rasmus@example.com', 'role' => 'viewer'],
    ['id' => 5, 'name' => 'Margaret Hamilton', 'email' => 'margaret@example.com', 'role' => 'viewer'],
];
