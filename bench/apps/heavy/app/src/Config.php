<?php

declare(strict_types=1);

namespace Heavy;

/** Configuration files (each returns an array), read with dotted keys: get('app.name'). */
final class Config
{
    /** @var array<string, array<string, mixed>> */
    private array $items = [];

    public function load(string $name, string $file): void
    {
        $this->items[$name] = require $file;
    }

    public function get(string $key, mixed $default = null): mixed
    {
        $value = $this->items;
        foreach (explode('.', $key) as $part) {
            if (!is_array($value) || !array_key_exists($part, $value)) {
                return $default;
            }
            $value = $value[$part];
        }
        return $value;
    }
}
