<?php

declare(strict_types=1);

return [
    'nav.products' => 'Products',
    'nav.orders' => 'Orders',
    'nav.customers' => 'Customers',
    'nav.reports' => 'Reports',
    'nav.settings' => 'Settings',
    'products.title' => 'Products',
    'products.subtitle' => ':count products in :categories categories',
    'products.featured' => 'Featured this week',
    'products.in_stock' => 'In stock',
    'products.low_stock' => 'Low stock',
    'products.out_of_stock' => 'Out of stock',
    'products.edit' => 'Edit',
    'products.view' => 'View',
    'table.id' => '#',
    'table.sku' => 'SKU',
    'table.name' => 'Name',
    'table.category' => 'Category',
    'table.price' => 'Price',
    'table.stock' => 'Stock',
    'table.status' => 'Status',
    'table.updated' => 'Updated',
    'table.actions' => 'Actions',
    'sidebar.categories' => 'Categories',
    'footer.version' => 'Version :version',
    'search.placeholder' => 'Search products…',
    'user.guest' => 'Guest',
];
