<?php

declare(strict_types=1);

namespace Heavy\Services;

/**
 * The products, generated from a seed instead of read from a database, so the
 * page is the same on every server and in every run.
 */
final class ProductRepository
{
    private const ADJECTIVES = ['Compact', 'Deluxe', 'Eco', 'Ergonomic', 'Foldable', 'Heavy-duty', 'Lightweight', 'Modular', 'Portable', 'Smart', 'Vintage', 'Wireless'];
    private const NOUNS = ['Adapter', 'Backpack', 'Blender', 'Charger', 'Desk Lamp', 'Drone', 'Headphones', 'Kettle', 'Keyboard', 'Lantern', 'Notebook', 'Speaker', 'Tent', 'Tripod', 'Watch'];
    /** A fixed "now" (2026-12-01 UTC): dates do not change between runs. */
    public const NOW = 1796083200;

    /** @var list<array{id: int, sku: string, name: string, category: int, price: int, stock: int, updated: int}>|null */
    private ?array $rows = null;

    public function __construct(private CategoryRepository $categories, private int $seed, private int $count)
    {
    }

    /** @return list<array{id: int, sku: string, name: string, category: int, price: int, stock: int, updated: int}> */
    public function all(): array
    {
        if ($this->rows !== null) {
            return $this->rows;
        }
        mt_srand($this->seed);
        $categoryCount = count($this->categories->all());
        $rows = [];
        for ($id = 1; $id <= $this->count; $id++) {
            $name = self::ADJECTIVES[mt_rand(0, count(self::ADJECTIVES) - 1)] . ' ' . self::NOUNS[mt_rand(0, count(self::NOUNS) - 1)];
            $rows[] = [
                'id' => $id,
                'sku' => sprintf('%s-%05d', strtoupper(substr(md5($name), 0, 3)), mt_rand(0, 99999)),
                'name' => $name . ' ' . chr(65 + mt_rand(0, 25)) . mt_rand(1, 9),
                'category' => mt_rand(1, $categoryCount),
                'price' => mt_rand(199, 149999),
                'stock' => mt_rand(0, 4) === 0 ? mt_rand(0, 4) : mt_rand(5, 900),
                'updated' => self::NOW - mt_rand(0, 400 * 86400),
            ];
        }
        mt_srand();
        usort($rows, static fn (array $a, array $b): int => $b['updated'] <=> $a['updated']);
        return $this->rows = $rows;
    }

    /** @return list<array{id: int, sku: string, name: string, category: int, price: int, stock: int, updated: int}> */
    public function featured(int $n): array
    {
        $rows = $this->all();
        usort($rows, static fn (array $a, array $b): int => $b['stock'] <=> $a['stock'] ?: $a['id'] <=> $b['id']);
        return array_slice($rows, 0, $n);
    }

    /** @return array<int, int> category id => number of products */
    public function countByCategory(): array
    {
        $counts = array_fill_keys(array_keys($this->categories->all()), 0);
        foreach ($this->all() as $row) {
            $counts[$row['category']]++;
        }
        return $counts;
    }
}
