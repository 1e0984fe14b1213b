<?php
/**
 * @var Heavy\Services\AssetManager $assets
 * @var Heavy\Config $config
 * @var string $title
 */
?>
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title><?= e($title) ?> · <?= e($config->get('app.name')) ?></title>
  <link rel="icon" href="<?= e($assets->image('logo')) ?>" type="image/svg+xml">
<?php foreach ($assets->styles() as $href): ?>
  <link rel="stylesheet" href="<?= e($href) ?>">
<?php endforeach ?>
<?php foreach ($assets->headScripts() as $src): ?>
  <script src="<?= e($src) ?>"></script>
<?php endforeach ?>
</head>
