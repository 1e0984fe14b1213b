<?php

declare(strict_types=1);

namespace Heavy\Services;

/** Who is looking: a signed-in name from a cookie, or a guest. No session files. */
final class Auth
{
    private ?string $user = null;

    /** @param array<string, mixed> $cookies */
    public function __construct(array $cookies)
    {
        $name = $cookies['heavy_user'] ?? null;
        if (is_string($name) && preg_match('/^[A-Za-z][A-Za-z0-9 ._-]{0,39}$/', $name)) {
            $this->user = $name;
        }
    }

    public function name(string $guest): string
    {
        return $this->user ?? $guest;
    }

    public function signedIn(): bool
    {
        return $this->user !== null;
    }
}
