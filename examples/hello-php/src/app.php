<?php

declare(strict_types=1);

/*
 * Shared helpers: escaping, templates, the page layout, JSON responses and
 * the tiny router. Loaded by index.php; never requested directly.
 */

if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

/** Escapes a value for HTML text and attribute context. */
function e(string|int|float|null $value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

/**
 * Renders src/pages/{$template}.php with $vars in scope and returns the HTML.
 *
 * @param array<string, mixed> $vars
 */
function render(string $template, array $vars = []): string
{
    $file = APP_ROOT . '/src/pages/' . $template . '.php';
    ob_start();
    try {
        (static function (string $__file, array $__vars): void {
            extract($__vars, EXTR_SKIP);
            require $__file;
        })($file, $vars);
    } catch (Throwable $error) {
        ob_end_clean();
        throw $error;
    }
    return (string) ob_get_clean();
}

/** Prints a complete HTML document around $content (already escaped HTML). */
function layout(string $title, string $content): void
{
    echo render('layout', ['title' => $title, 'content' => $content]);
}

/**
 * Sends an HTML page: a status code, then a template inside the layout.
 *
 * @param array<string, mixed> $vars
 */
function page(string $title, string $template, array $vars = [], int $status = 200): void
{
    $content = render($template, $vars); // render first: a template may throw
    http_response_code($status);
    layout($title, $content);
}

/** Sends $data as JSON with the given status code. */
function json_response(mixed $data, int $status = 200): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($data, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
}

/**
 * Calls the handler of the first route matching $method and $path, passing the
 * URL-decoded capture groups as arguments. Answers 405 when only the method is
 * wrong and 404 when no route matches.
 *
 * @param list<array{0: string, 1: string, 2: callable}> $routes [method, regex, handler]
 */
function dispatch(array $routes, string $method, string $path): void
{
    // HEAD is a GET without a body; php-cgi drops the body by itself.
    $method = $method === 'HEAD' ? 'GET' : $method;
    $allowed = [];
    foreach ($routes as [$routeMethod, $pattern, $handler]) {
        if (preg_match($pattern, $path, $matches) !== 1) {
            continue;
        }
        if ($routeMethod !== $method) {
            $allowed[] = $routeMethod;
            continue;
        }
        $handler(...array_map('rawurldecode', array_slice($matches, 1)));
        return;
    }

    if ($allowed !== []) {
        $allowed = array_unique(in_array('GET', $allowed, true) ? [...$allowed, 'HEAD'] : $allowed);
        sort($allowed);
        header('Allow: ' . implode(', ', $allowed));
        page('Method not allowed', 'error', [
            'heading' => '405 Method not allowed',
            'message' => "$method is not allowed here. Try: " . implode(', ', $allowed) . '.',
        ], 405);
        return;
    }

    not_found($path);
}

/** 404 for an unknown route: JSON under /api/, an HTML page elsewhere. */
function not_found(string $path): void
{
    if (str_starts_with($path, '/api/')) {
        json_response(['error' => 'Not found', 'path' => $path], 404);
        return;
    }
    page('Not found', 'not-found', ['path' => $path], 404);
}
