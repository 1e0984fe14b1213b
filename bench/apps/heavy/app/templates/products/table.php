<?php
/**
 * @var Heavy\Services\Translator $t
 * @var Heavy\Services\CategoryRepository $categories
 * @var Heavy\Services\PriceFormatter $prices
 * @var Heavy\Services\DateFormatter $dates
 * @var array{items: list<array<string, int|string>>, page: int, pages: int, total: int, from: int, to: int} $page
 * @var list<string> $columns
 * @var int $now
 */
$status = static function (int $stock) use ($t): string {
    return $t->get($stock === 0 ? 'products.out_of_stock' : ($stock < 5 ? 'products.low_stock' : 'products.in_stock'));
};
?>
      <table class="products" data-sortable>
        <thead>
          <tr>
<?php foreach ($columns as $column): ?>
            <th data-key="<?= e($column) ?>"><?= e($t->get('table.' . $column)) ?></th>
<?php endforeach ?>
            <th><?= e($t->get('table.actions')) ?></th>
          </tr>
        </thead>
        <tbody>
<?php foreach ($page['items'] as $i => $row): ?>
<?php $label = $status((int) $row['stock']) ?>
          <tr class="<?= $i % 2 ? 'odd' : 'even' ?>" data-id="<?= (int) $row['id'] ?>">
            <td class="num"><?= (int) $row['id'] ?></td>
            <td><code><?= e($row['sku']) ?></code></td>
            <td><a href="/products/<?= (int) $row['id'] ?>"><?= e($row['name']) ?></a></td>
            <td><?= e($categories->name((int) $row['category'])) ?></td>
            <td class="num"><?= e($prices->format((int) $row['price'])) ?></td>
            <td class="num"><?= (int) $row['stock'] ?></td>
            <td><span class="badge badge-<?= e(css_class($label)) ?>"><?= e($label) ?></span></td>
            <td title="<?= e($dates->format((int) $row['updated'])) ?>"><?= e($dates->relative((int) $row['updated'], $now)) ?></td>
            <td class="actions"><a href="/products/<?= (int) $row['id'] ?>/edit"><?= e($t->get('products.edit')) ?></a> · <a href="/products/<?= (int) $row['id'] ?>"><?= e($t->get('products.view')) ?></a></td>
          </tr>
<?php endforeach ?>
        </tbody>
        <tfoot>
          <tr><td colspan="<?= count($columns) + 1 ?>"><?= $page['from'] ?>–<?= $page['to'] ?> / <?= $page['total'] ?> · page <?= $page['page'] ?> / <?= $page['pages'] ?></td></tr>
        </tfoot>
      </table>
