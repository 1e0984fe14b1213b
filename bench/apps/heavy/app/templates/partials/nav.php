<?php
/**
 * @var Heavy\Services\AssetManager $assets
 * @var Heavy\Services\Translator $t
 * @var Heavy\Services\Auth $auth
 */
$links = ['/products' => 'nav.products', '/orders' => 'nav.orders', '/customers' => 'nav.customers', '/reports' => 'nav.reports', '/settings' => 'nav.settings'];
?>
  <header class="topbar">
    <a class="brand" href="/"><img src="<?= e($assets->image('logo')) ?>" alt="" width="28" height="28"> Heavy Shop</a>
    <nav>
<?php foreach ($links as $href => $key): ?>
      <a href="<?= e($href) ?>"<?= $href === '/products' ? ' class="active"' : '' ?>><?= e($t->get($key)) ?></a>
<?php endforeach ?>
    </nav>
    <form class="search" action="/products" method="get">
      <img src="<?= e($assets->image('search')) ?>" alt="" width="16" height="16">
      <input name="q" placeholder="<?= e($t->get('search.placeholder')) ?>">
    </form>
    <a class="cart" href="/orders"><img src="<?= e($assets->image('cart')) ?>" alt="" width="20" height="20"></a>
    <span class="user"><img src="<?= e($assets->image('user')) ?>" alt="" width="20" height="20"> <?= e($auth->name($t->get('user.guest'))) ?></span>
  </header>
