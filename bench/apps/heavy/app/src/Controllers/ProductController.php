<?php

declare(strict_types=1);

namespace Heavy\Controllers;

use Heavy\Config;
use Heavy\Container;
use Heavy\Request;
use Heavy\Response;
use Heavy\Services\CategoryRepository;
use Heavy\Services\DateFormatter;
use Heavy\Services\Paginator;
use Heavy\Services\PriceFormatter;
use Heavy\Services\ProductRepository;
use Heavy\Services\Translator;
use Heavy\View;

/** The product list: a 200-row table, the featured strip and the category sidebar. */
final class ProductController
{
    public function __construct(private Container $container)
    {
    }

    public function index(Request $request): Response
    {
        $config = $this->container->get(Config::class);
        $products = $this->container->get(ProductRepository::class);
        $categories = $this->container->get(CategoryRepository::class);
        $t = $this->container->get(Translator::class);
        $page = $this->container->get(Paginator::class)->paginate($products->all(), $request->int('page', 1));
        $view = $this->container->get(View::class);
        $content = $view->render('products/index', [
            'page' => $page,
            'featured' => $products->featured((int) $config->get('view.featured')),
            'thumbSize' => (int) $config->get('view.thumb_size'),
            'columns' => $config->get('view.columns'),
            'categories' => $categories,
            'counts' => $products->countByCategory(),
            'prices' => $this->container->get(PriceFormatter::class),
            'dates' => $this->container->get(DateFormatter::class),
            'now' => ProductRepository::NOW,
        ]);
        $html = $view->render('layout', ['title' => $t->get('products.title'), 'content' => $content, 'counts' => $products->countByCategory(), 'categories' => $categories]);
        return new Response($html);
    }
}
