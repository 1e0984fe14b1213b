<?php

declare(strict_types=1);

namespace Heavy\Services;

/** Looks messages up in lang/{locale}.php and fills in :placeholders. */
final class Translator
{
    /** @var array<string, string> */
    private array $messages;

    public function __construct(string $dir, public readonly string $locale)
    {
        $this->messages = require "$dir/$locale.php";
    }

    /** @param array<string, string|int> $replace */
    public function get(string $key, array $replace = []): string
    {
        $text = $this->messages[$key] ?? $key;
        foreach ($replace as $name => $value) {
            $text = str_replace(':' . $name, (string) $value, $text);
        }
        return $text;
    }

    /** @return array<string, string> */
    public function all(): array
    {
        return $this->messages;
    }
}
