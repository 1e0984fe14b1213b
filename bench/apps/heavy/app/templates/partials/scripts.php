<?php
/** @var Heavy\Services\AssetManager $assets */
?>
  <script src="<?= e($assets->dynamicScript()) ?>"></script>
<?php foreach ($assets->scripts() as $src): ?>
  <script src="<?= e($src) ?>"></script>
<?php endforeach ?>
