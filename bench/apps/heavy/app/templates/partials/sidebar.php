<?php
/**
 * @var Heavy\Services\Translator $t
 * @var Heavy\Services\CategoryRepository $categories
 * @var array<int, int> $counts
 */
?>
    <aside class="sidebar">
      <h2><?= e($t->get('sidebar.categories')) ?></h2>
      <ul>
<?php foreach ($categories->all() as $id => $name): ?>
        <li><a href="/products?category=<?= $id ?>"><?= e($name) ?></a> <span class="count"><?= $counts[$id] ?? 0 ?></span></li>
<?php endforeach ?>
      </ul>
    </aside>
