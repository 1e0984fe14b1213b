<?php

declare(strict_types=1);

namespace Heavy;

/** The parts of the HTTP request the app reads. */
final class Request
{
    /** @param array<string, string> $query */
    public function __construct(
        public readonly string $method,
        public readonly string $path,
        public readonly array $query,
        public readonly string $host,
    ) {
    }

    public static function fromGlobals(): self
    {
        $uri = $_SERVER['REQUEST_URI'] ?? '/';
        $path = parse_url($uri, PHP_URL_PATH);
        $query = [];
        foreach ($_GET as $key => $value) {
            if (is_string($value)) {
                $query[(string) $key] = $value;
            }
        }
        return new self($_SERVER['REQUEST_METHOD'] ?? 'GET', is_string($path) ? $path : '/', $query, $_SERVER['HTTP_HOST'] ?? 'localhost');
    }

    public function int(string $key, int $default): int
    {
        return isset($this->query[$key]) && ctype_digit($this->query[$key]) ? (int) $this->query[$key] : $default;
    }
}
