<?php

declare(strict_types=1);

/*
 * Front controller. The server answers requests for files that exist (e.g.
 * /assets/style.css) itself and sends everything else here, like nginx's
 *
 *     try_files $uri $uri/ /index.php?$query_string;
 *
 * The routes below are matched against the path of the request URI.
 */

const APP_ROOT = __DIR__;

require APP_ROOT . '/src/app.php';
require APP_ROOT . '/src/handlers.php';

$routes = [
    // [method, path pattern, handler]
    ['GET', '#^/$#', 'home'],
    ['GET', '#^/hello/([^/]+)$#', 'hello'],
    ['GET', '#^/api/users$#', 'api_users'],
    ['GET', '#^/api/users/([^/]+)$#', 'api_user'],
    ['GET', '#^/form$#', 'form_show'],
    ['POST', '#^/form$#', 'form_submit'],
    ['GET', '#^/upload$#', 'upload_show'],
    ['POST', '#^/upload$#', 'upload_submit'],
    ['GET', '#^/slow$#', 'slow'],
    ['GET', '#^/warning$#', 'warning'],
    ['GET', '#^/die$#', 'die_mid_request'],
    ['GET', '#^/cookie$#', 'cookie'],
    ['GET', '#^/redirect$#', 'redirect'],
    ['GET', '#^/info$#', 'info'],
    ['GET', '#^/download$#', 'download'],
    ['GET', '#^/chunked$#', 'chunked'],
];

$uri = $_SERVER['REQUEST_URI'] ?? '/';
// parse_url() reads "//host/x" as a host name; such odd paths fall back to the raw one.
$path = parse_url($uri, PHP_URL_PATH);
if (!is_string($path)) {
    $path = strtok($uri, '?') ?: '/';
}
dispatch($routes, $_SERVER['REQUEST_METHOD'] ?? 'GET', $path);
