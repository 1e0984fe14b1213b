<?php

declare(strict_types=1);

return [
    'per_page' => 200,
    'featured' => 6,
    'thumb_size' => 96,
    'columns' => ['id', 'sku', 'name', 'category', 'price', 'stock', 'status', 'updated'],
];
