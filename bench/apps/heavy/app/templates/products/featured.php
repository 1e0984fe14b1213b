<?php
/**
 * @var Heavy\Services\AssetManager $assets
 * @var Heavy\Services\Translator $t
 * @var Heavy\Services\PriceFormatter $prices
 * @var list<array<string, int|string>> $featured
 * @var int $thumbSize
 */
?>
      <section class="featured">
        <h2><?= e($t->get('products.featured')) ?></h2>
        <ul>
<?php foreach ($featured as $product): ?>
          <li>
            <img src="<?= e($assets->thumb((int) $product['id'], $thumbSize)) ?>" alt="" width="<?= $thumbSize ?>" height="<?= $thumbSize ?>">
            <a href="/products/<?= (int) $product['id'] ?>"><?= e($product['name']) ?></a>
            <span class="price"><?= e($prices->format((int) $product['price'])) ?></span>
          </li>
<?php endforeach ?>
        </ul>
      </section>
