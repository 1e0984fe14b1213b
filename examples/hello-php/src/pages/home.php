<?php

declare(strict_types=1);

// A template: runs only inside render(), never as a request of its own.
if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

$examples = [
    '/hello/world' => 'Greets the name in the URL, escaped (try /hello/%3Cb%3Ebold%3C%2Fb%3E).',
    '/api/users' => 'A JSON list of users (Content-Type: application/json).',
    '/api/users/1' => 'One user as JSON; an unknown id such as /api/users/99 answers a 404 JSON error.',
    '/form' => 'An HTML form posted as application/x-www-form-urlencoded; shows what it received.',
    '/upload' => 'A multipart file upload; reports name, size, MD5 and type, or a clear upload error.',
    '/slow?ms=2000' => 'Sleeps for ms milliseconds (default 2000, at most 60000): watch a worker stay busy.',
    '/warning' => 'Triggers a real PHP warning, logged to the worker\'s FastCGI stderr, then renders a page.',
    '/die' => 'The worker kills itself mid-request (deliberately) to show a leaked lease.',
    '/cookie' => 'Sets two cookies (two Set-Cookie headers) and shows the cookies it received.',
    '/redirect' => 'A 302 redirect back to this page.',
    '/info' => 'PHP version, SAPI, worker pid and a few $_SERVER entries (not phpinfo()).',
    '/download' => 'An HTML report as a download (Content-Disposition: attachment), sent unchanged.',
    '/chunked' => 'A page streamed in two pieces, split inside its closing body tag.',
    '/no-such-page' => 'Any unknown route: the app\'s 404 page.',
];
$static = [
    '/assets/style.css' => 'The stylesheet of these pages, served from disk without PHP.',
    '/assets/logo.svg' => 'A small SVG image.',
    '/assets/notes.txt' => 'A plain text file.',
    '/.env' => 'A dotfile holding a fake secret: the server must never serve it.',
];
?>
<h1>hello-php</h1>
<p>A framework-free PHP app served through a pool of php-cgi FastCGI workers.
Everything that is not a file on disk goes to <code>index.php</code>.</p>

<h2>Pages</h2>
<dl class="routes">
<?php foreach ($examples as $href => $description): ?>
  <dt><a href="<?= e($href) ?>"><code><?= e($href) ?></code></a></dt>
  <dd><?= e($description) ?></dd>
<?php endforeach ?>
</dl>

<h2>Static files</h2>
<dl class="routes">
<?php foreach ($static as $href => $description): ?>
  <dt><a href="<?= e($href) ?>"><code><?= e($href) ?></code></a></dt>
  <dd><?= e($description) ?></dd>
<?php endforeach ?>
</dl>
