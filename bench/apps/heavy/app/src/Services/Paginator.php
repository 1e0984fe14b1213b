<?php

declare(strict_types=1);

namespace Heavy\Services;

/** One page of a list, and the numbers the pagination bar shows. */
final class Paginator
{
    public function __construct(private int $perPage)
    {
    }

    /**
     * @template T
     * @param list<T> $items
     * @return array{items: list<T>, page: int, pages: int, total: int, from: int, to: int}
     */
    public function paginate(array $items, int $page): array
    {
        $total = count($items);
        $pages = max(1, (int) ceil($total / $this->perPage));
        $page = min(max(1, $page), $pages);
        $offset = ($page - 1) * $this->perPage;
        $slice = array_slice($items, $offset, $this->perPage);
        return ['items' => $slice, 'page' => $page, 'pages' => $pages, 'total' => $total, 'from' => $offset + 1, 'to' => $offset + count($slice)];
    }
}
