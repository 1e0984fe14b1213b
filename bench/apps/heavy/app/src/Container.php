<?php

declare(strict_types=1);

namespace Heavy;

use RuntimeException;

/** A service container: factories registered by id, each built once on first use. */
final class Container
{
    /** @var array<string, callable(Container): object> */
    private array $factories = [];
    /** @var array<string, object> */
    private array $instances = [];

    /** @param callable(Container): object $factory */
    public function set(string $id, callable $factory): void
    {
        $this->factories[$id] = $factory;
        unset($this->instances[$id]);
    }

    /**
     * @template T of object
     * @param class-string<T> $id
     * @return T
     */
    public function get(string $id): object
    {
        if (isset($this->instances[$id])) {
            return $this->instances[$id];
        }
        if (!isset($this->factories[$id])) {
            throw new RuntimeException("no service $id");
        }
        return $this->instances[$id] = ($this->factories[$id])($this);
    }
}
