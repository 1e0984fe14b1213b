<?php
/**
 * The page around every view.
 *
 * @var Heavy\View $view
 * @var Heavy\Services\Translator $t
 * @var string $title
 * @var string $content already escaped HTML
 */
?>
<!doctype html>
<html lang="<?= e($t->locale) ?>">
<?= $view->render('partials/head', ['title' => $title]) ?>
<body>
<?= $view->render('partials/nav') ?>
  <div class="shell">
<?= $view->render('partials/sidebar', ['counts' => $counts, 'categories' => $categories]) ?>
    <main class="content">
<?= $content ?>
    </main>
  </div>
<?= $view->render('partials/footer') ?>
<?= $view->render('partials/scripts') ?>
</body>
</html>
