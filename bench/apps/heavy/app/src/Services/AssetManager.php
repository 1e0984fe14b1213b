<?php

declare(strict_types=1);

namespace Heavy\Services;

/** Asset URLs with a version query for cache busting, as build tools write them. */
final class AssetManager
{
    /** @param array<string, mixed> $config */
    public function __construct(private array $config)
    {
    }

    public function url(string $path): string
    {
        return '/assets/' . $path . '?v=' . rawurlencode((string) $this->config['version']);
    }

    /** @return list<string> */
    public function styles(): array
    {
        return array_map($this->url(...), $this->config['styles']);
    }

    /** @return list<string> */
    public function headScripts(): array
    {
        return array_map($this->url(...), $this->config['head_scripts']);
    }

    /** @return list<string> */
    public function scripts(): array
    {
        return array_map($this->url(...), $this->config['scripts']);
    }

    public function dynamicScript(): string
    {
        return $this->config['dynamic_script'] . '?v=' . rawurlencode((string) $this->config['version']);
    }

    public function image(string $name): string
    {
        return $this->url($this->config['images'][$name]);
    }

    public function thumb(int $id, int $size): string
    {
        return '/thumb.php?id=' . $id . '&w=' . $size;
    }
}
