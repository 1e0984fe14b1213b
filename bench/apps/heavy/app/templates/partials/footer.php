<?php
/**
 * @var Heavy\Services\Translator $t
 * @var Heavy\Config $config
 */
?>
  <footer class="footer">
    <?= e($config->get('app.name')) ?> · <?= e($t->get('footer.version', ['version' => $config->get('app.version')])) ?> · PHP <?= e(PHP_VERSION) ?> (<?= e(PHP_SAPI) ?>)
  </footer>
