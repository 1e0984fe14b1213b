<?php

declare(strict_types=1);

/** Escapes a value for HTML text and attribute context. */
function e(string|int|float|null $value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

/** A CSS class name from free text ("Low stock" → "low-stock"). */
function css_class(string $text): string
{
    return trim((string) preg_replace('/[^a-z0-9]+/', '-', strtolower($text)), '-');
}
