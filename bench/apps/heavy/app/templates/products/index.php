<?php
/**
 * @var Heavy\View $view
 * @var Heavy\Services\AssetManager $assets
 * @var Heavy\Services\Translator $t
 * @var array{items: list<array<string, int|string>>, page: int, pages: int, total: int, from: int, to: int} $page
 * @var array<int, int> $counts
 */
?>
      <section class="hero">
        <img src="<?= e($assets->image('hero')) ?>" alt="" width="960" height="200">
        <div>
          <h1><?= e($t->get('products.title')) ?></h1>
          <p><?= e($t->get('products.subtitle', ['count' => $page['total'], 'categories' => count(array_filter($counts))])) ?></p>
        </div>
      </section>
<?= $view->render('products/featured', ['featured' => $featured, 'thumbSize' => $thumbSize, 'prices' => $prices]) ?>
<?= $view->render('products/table', ['page' => $page, 'columns' => $columns, 'categories' => $categories, 'prices' => $prices, 'dates' => $dates, 'now' => $now]) ?>
