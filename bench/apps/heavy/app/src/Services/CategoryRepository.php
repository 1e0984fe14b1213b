<?php

declare(strict_types=1);

namespace Heavy\Services;

/** The product categories (a fixed list standing in for a table). */
final class CategoryRepository
{
    private const NAMES = [
        'Audio', 'Books', 'Cameras', 'Computers', 'Garden', 'Games', 'Kitchen', 'Lighting',
        'Music', 'Office', 'Outdoor', 'Phones', 'Sports', 'Tools', 'Toys', 'Travel',
    ];

    /** @return array<int, string> id => name */
    public function all(): array
    {
        $out = [];
        foreach (self::NAMES as $i => $name) {
            $out[$i + 1] = $name;
        }
        return $out;
    }

    public function name(int $id): string
    {
        return self::NAMES[$id - 1] ?? 'Other';
    }
}
