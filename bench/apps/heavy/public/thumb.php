<?php

declare(strict_types=1);

// A product thumbnail drawn by PHP (a PNG, no GD needed), as image endpoints
// that resize or watermark do. Revalidated on every use (no-cache + ETag):
// a matching If-None-Match gets a 304 without drawing anything.

$id = filter_input(INPUT_GET, 'id', FILTER_VALIDATE_INT, ['options' => ['min_range' => 1, 'max_range' => 100000]]);
$size = filter_input(INPUT_GET, 'w', FILTER_VALIDATE_INT, ['options' => ['min_range' => 16, 'max_range' => 256]]) ?: 96;
if (!is_int($id)) {
    http_response_code(400);
    header('Content-Type: text/plain');
    echo "id must be a positive integer\n";
    exit;
}

$etag = sprintf('"thumb-%d-%d-v3"', $id, $size);
header('Cache-Control: no-cache');
header('ETag: ' . $etag);
if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === $etag) {
    http_response_code(304);
    exit;
}

// A diagonal gradient in a colour picked by the id, with some grain.
mt_srand($id);
[$r0, $g0, $b0] = [mt_rand(40, 215), mt_rand(40, 215), mt_rand(40, 215)];
$raw = '';
for ($y = 0; $y < $size; $y++) {
    $raw .= "\0";
    for ($x = 0; $x < $size; $x++) {
        $shade = intdiv(($x + $y) * 80, 2 * $size) - 40;
        $grain = mt_rand(-24, 24);
        $raw .= chr(max(0, min(255, $r0 + $shade + $grain))) . chr(max(0, min(255, $g0 + $shade + $grain))) . chr(max(0, min(255, $b0 + $shade - $grain)));
    }
}
mt_srand();

$chunk = static fn (string $type, string $data): string => pack('N', strlen($data)) . $type . $data . pack('N', crc32($type . $data));
$png = "\x89PNG\r\n\x1a\n"
    . $chunk('IHDR', pack('NNCCCCC', $size, $size, 8, 2, 0, 0, 0))
    . $chunk('IDAT', (string) gzcompress($raw, 6))
    . $chunk('IEND', '');

header('Content-Type: image/png');
header('Content-Length: ' . strlen($png));
echo $png;
