<?php

declare(strict_types=1);

namespace Heavy;

/** Exact-path routes per method to [controller class, method]. */
final class Router
{
    /** @var array<string, array<string, array{0: class-string, 1: string}>> */
    private array $routes = [];

    /** @param array{0: class-string, 1: string} $handler */
    public function get(string $path, array $handler): void
    {
        $this->routes['GET'][$path] = $handler;
    }

    /** @return array{0: class-string, 1: string}|null */
    public function match(string $method, string $path): ?array
    {
        $method = $method === 'HEAD' ? 'GET' : $method;
        return $this->routes[$method][rtrim($path, '/') ?: '/'] ?? null;
    }
}
