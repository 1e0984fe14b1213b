<?php

declare(strict_types=1);

// Boots the tiny framework the way a real one does: constants, an autoloader
// (one file per class), the configuration files, helpers, a container with
// the services, the routes. Returns the kernel.

const HEAVY_ROOT = __DIR__;

spl_autoload_register(static function (string $class): void {
    if (!str_starts_with($class, 'Heavy\\')) {
        return;
    }
    $file = HEAVY_ROOT . '/src/' . str_replace('\\', '/', substr($class, 6)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

require HEAVY_ROOT . '/src/helpers.php';

$config = new Heavy\Config();
foreach (['app', 'database', 'view', 'assets', 'locale'] as $name) {
    $config->load($name, HEAVY_ROOT . "/config/$name.php");
}
date_default_timezone_set($config->get('app.timezone', 'UTC'));

$container = new Heavy\Container();
$container->set(Heavy\Config::class, static fn () => $config);
$container->set(Heavy\Services\Logger::class, static fn () => new Heavy\Services\Logger($config->get('app.log_level')));
$container->set(Heavy\Services\Translator::class, static fn () => new Heavy\Services\Translator(HEAVY_ROOT . '/lang', $config->get('locale.default')));
$container->set(Heavy\Services\PriceFormatter::class, static fn () => new Heavy\Services\PriceFormatter($config->get('locale.currency'), $config->get('locale.decimals')));
$container->set(Heavy\Services\DateFormatter::class, static fn () => new Heavy\Services\DateFormatter($config->get('locale.date_format')));
$container->set(Heavy\Services\AssetManager::class, static fn () => new Heavy\Services\AssetManager($config->get('assets')));
$container->set(Heavy\Services\Auth::class, static fn () => new Heavy\Services\Auth($_COOKIE));
$container->set(Heavy\Services\CategoryRepository::class, static fn () => new Heavy\Services\CategoryRepository());
$container->set(
    Heavy\Services\ProductRepository::class,
    static fn (Heavy\Container $c) => new Heavy\Services\ProductRepository($c->get(Heavy\Services\CategoryRepository::class), $config->get('database.seed'), $config->get('database.rows')),
);
$container->set(Heavy\Services\Paginator::class, static fn () => new Heavy\Services\Paginator($config->get('view.per_page')));
$container->set(
    Heavy\View::class,
    static fn (Heavy\Container $c) => new Heavy\View(HEAVY_ROOT . '/templates', [
        'assets' => $c->get(Heavy\Services\AssetManager::class),
        't' => $c->get(Heavy\Services\Translator::class),
        'auth' => $c->get(Heavy\Services\Auth::class),
        'config' => $config,
    ]),
);

$router = new Heavy\Router();
$router->get('/', [Heavy\Controllers\ProductController::class, 'index']);
$router->get('/products', [Heavy\Controllers\ProductController::class, 'index']);

return new Heavy\Kernel($container, $router);
