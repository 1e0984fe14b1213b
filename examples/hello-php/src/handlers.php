<?php

declare(strict_types=1);

/*
 * One function per route. Each one sets the status and headers, then prints
 * an HTML page (via page()) or JSON (via json_response()).
 */

if (!defined('APP_ROOT')) {
    http_response_code(404);
    exit;
}

function home(): void
{
    page('Home', 'home');
}

function hello(string $name): void
{
    page('Hello', 'hello', ['name' => $name]);
}

function api_users(): void
{
    json_response(require APP_ROOT . '/src/users.php');
}

function api_user(string $id): void
{
    foreach (require APP_ROOT . '/src/users.php' as $user) {
        if ((string) $user['id'] === $id) {
            json_response($user);
            return;
        }
    }
    json_response(['error' => "User $id not found"], 404);
}

function form_show(): void
{
    page('Form', 'form');
}

function form_submit(): void
{
    page('Form submitted', 'form-result', ['fields' => flatten_fields($_POST)]);
}

/**
 * Turns nested form data (e.g. colours[]=red&colours[]=blue) into a flat list
 * of "colours[0]" => "red" pairs for display.
 *
 * @param array<mixed> $data
 * @return array<string, string>
 */
function flatten_fields(array $data, string $prefix = ''): array
{
    $flat = [];
    foreach ($data as $key => $value) {
        $name = $prefix === '' ? (string) $key : "{$prefix}[{$key}]";
        if (is_array($value)) {
            $flat += flatten_fields($value, $name);
        } else {
            $flat[$name] = (string) $value;
        }
    }
    return $flat;
}

function upload_show(): void
{
    page('Upload', 'upload', upload_limits());
}

function upload_submit(): void
{
    $limits = upload_limits();
    $file = $_FILES['file'] ?? null;

    // When the whole body is over post_max_size PHP drops it: no $_FILES, no $_POST.
    $length = (int) ($_SERVER['CONTENT_LENGTH'] ?? 0);
    if ($file === null && $length > ini_bytes($limits['post_max_size'])) {
        upload_failed(413, 'post_max_size exceeded', "The request body ($length bytes) is larger than post_max_size ({$limits['post_max_size']}), so PHP discarded it.", $limits);
        return;
    }
    if ($file === null) {
        upload_failed(400, 'No file', 'The request has no file field named "file". Is the form multipart/form-data?', $limits);
        return;
    }
    if (is_array($file['error'])) {
        upload_failed(400, 'Too many files', 'Send a single file in the field "file".', $limits);
        return;
    }

    [$status, $code, $reason] = match ($file['error']) {
        UPLOAD_ERR_OK => [200, '', ''],
        UPLOAD_ERR_INI_SIZE => [413, 'UPLOAD_ERR_INI_SIZE', "The file is larger than upload_max_filesize ({$limits['upload_max_filesize']})."],
        UPLOAD_ERR_FORM_SIZE => [413, 'UPLOAD_ERR_FORM_SIZE', 'The file is larger than the MAX_FILE_SIZE field of the form.'],
        UPLOAD_ERR_PARTIAL => [400, 'UPLOAD_ERR_PARTIAL', 'The file was only partially uploaded.'],
        UPLOAD_ERR_NO_FILE => [400, 'UPLOAD_ERR_NO_FILE', 'No file was chosen.'],
        UPLOAD_ERR_NO_TMP_DIR => [500, 'UPLOAD_ERR_NO_TMP_DIR', 'PHP has no temporary folder to store the upload (upload_tmp_dir).'],
        UPLOAD_ERR_CANT_WRITE => [500, 'UPLOAD_ERR_CANT_WRITE', 'PHP could not write the file to disk.'],
        UPLOAD_ERR_EXTENSION => [500, 'UPLOAD_ERR_EXTENSION', 'A PHP extension stopped the upload.'],
        default => [500, 'UPLOAD_ERR_' . $file['error'], 'Unknown upload error.'],
    };
    if ($status !== 200) {
        upload_failed($status, $code, $reason, $limits);
        return;
    }
    if (!is_uploaded_file($file['tmp_name'])) {
        upload_failed(400, 'Not an upload', 'The temporary file is not a PHP upload.', $limits);
        return;
    }

    $detected = class_exists(finfo::class)
        ? (string) (new finfo(FILEINFO_MIME_TYPE))->file($file['tmp_name'])
        : 'unknown (the fileinfo extension is not loaded)';
    page('Upload received', 'upload-result', [
        'name' => basename($file['name']),
        'size' => (int) $file['size'],
        'md5' => (string) md5_file($file['tmp_name']),
        'clientType' => $file['type'],
        'detectedType' => $detected,
    ]);
}

/** @param array<string, string> $limits */
function upload_failed(int $status, string $code, string $reason, array $limits): void
{
    page('Upload failed', 'upload', [...$limits, 'error' => ['code' => $code, 'reason' => $reason]], $status);
}

/** @return array{upload_max_filesize: string, post_max_size: string} */
function upload_limits(): array
{
    return [
        'upload_max_filesize' => (string) ini_get('upload_max_filesize'),
        'post_max_size' => (string) ini_get('post_max_size'),
    ];
}

/** Converts a php.ini size such as "8M" to bytes (0 means "no limit"). */
function ini_bytes(string $size): int
{
    $size = trim($size);
    $number = (int) $size;
    return match (strtoupper(substr($size, -1))) {
        'G' => $number * 1024 ** 3,
        'M' => $number * 1024 ** 2,
        'K' => $number * 1024,
        default => $number,
    } ?: PHP_INT_MAX;
}

function slow(): void
{
    $requested = $_GET['ms'] ?? null;
    $ms = filter_var($requested, FILTER_VALIDATE_INT);
    $ms = $ms === false ? 2000 : max(0, min($ms, 60000)); // default 2 s, at most 60 s
    set_time_limit(120); // sleeping does not count on Linux, but be explicit

    $started = hrtime(true);
    usleep($ms * 1000);
    $slept = (hrtime(true) - $started) / 1e6;

    page('Slow', 'slow', [
        'requested' => is_string($requested) ? $requested : null,
        'ms' => $ms,
        'slept' => $slept,
    ]);
}

function warning(): void
{
    $settings = ['greeting' => 'Hello'];
    // Deliberate: PHP emits "Warning: Undefined array key "colour"". With
    // display_errors=Off and log_errors=On it goes to the FastCGI stderr
    // stream, which FastCGI Pool shows in the worker's log.
    $colour = $settings['colour'];
    page('Warning', 'warning', ['colour' => $colour]);
}

/**
 * Kills the worker in the middle of a request, on purpose: the server has
 * leased this worker and never gets its FCGI_END_REQUEST back.
 */
function die_mid_request(): void
{
    $pid = getmypid();
    $how = match (true) {
        function_exists('posix_kill') => 'posix_kill',
        function_exists('exec') => 'exec',
        default => null,
    };
    if ($how === null) {
        page('Cannot die', 'error', [
            'heading' => 'This worker cannot kill itself',
            'message' => 'Neither the posix extension (posix_kill) nor exec() is available, so /die cannot demonstrate a worker dying mid-request.',
        ], 501);
        return;
    }

    header('Content-Type: text/html; charset=UTF-8');
    echo render('die', ['pid' => $pid, 'how' => $how]);
    // Push the partial page out past PHP's output buffers to the server...
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    flush();
    usleep(200_000); // ...give it a moment to forward it...
    // ...then die without any cleanup, the way a segfault or the OOM killer would.
    if ($how === 'posix_kill') {
        posix_kill($pid, 9);
    } else {
        exec('kill -9 ' . $pid);
    }
    sleep(5); // SIGKILL is delivered at once; never reached
    echo "<p>Still alive?! kill -9 $pid did not work.</p>";
}

function cookie(): void
{
    $received = $_COOKIE;
    $visits = (int) ($received['visits'] ?? 0) + 1;
    $options = ['path' => '/', 'httponly' => true, 'samesite' => 'Lax'];
    // Two cookies, so two Set-Cookie headers in the response.
    setcookie('visits', (string) $visits, $options + ['expires' => time() + 3600]);
    setcookie('flavour', 'chocolate-chip', $options);
    page('Cookies', 'cookie', ['received' => $received, 'visits' => $visits]);
}

function redirect(): void
{
    header('Location: /', true, 302);
    echo "<p>Redirecting to <a href=\"/\">/</a></p>\n";
}

function info(): void
{
    $keys = ['REQUEST_URI', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'PATH_INFO', 'QUERY_STRING', 'REQUEST_METHOD', 'REMOTE_ADDR'];
    $server = [];
    foreach ($keys as $key) {
        $server[$key] = $_SERVER[$key] ?? null;
    }
    page('Server info', 'info', [
        'php' => PHP_VERSION,
        'sapi' => PHP_SAPI,
        'pid' => getmypid(),
        'server' => $server,
    ]);
}

/**
 * An HTML report as a download (Content-Disposition: attachment): a browser
 * saves it instead of showing it, so it must arrive byte for byte as PHP
 * wrote it, live reload or not.
 */
function download(): void
{
    header('Content-Type: text/html; charset=UTF-8');
    header('Content-Disposition: attachment; filename="hello-php-report.html"');
    $users = require APP_ROOT . '/src/users.php';
    echo "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Users</title></head>\n<body>\n<h1>Users</h1>\n<ul>\n";
    foreach ($users as $user) {
        echo '  <li>', e($user['name']), ' &lt;', e($user['email']), "&gt;</li>\n";
    }
    echo "</ul>\n</body>\n</html>\n";
}

/**
 * The usual page, but sent in two pieces 50 ms apart, split in the middle
 * of its closing body tag ("</bo" | "dy>"): each piece leaves PHP as its
 * own FastCGI record, and the server streams it as its own HTTP chunk.
 */
function chunked(): void
{
    ob_start();
    page('Chunked', 'chunked');
    $html = (string) ob_get_clean();
    $split = strrpos($html, '</body>');
    $split = $split === false ? intdiv(strlen($html), 2) : $split + strlen('</bo');
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    echo substr($html, 0, $split);
    flush();
    usleep(50_000);
    echo substr($html, $split);
}
