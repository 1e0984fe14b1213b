<?php

declare(strict_types=1);

namespace Heavy;

/** Plain-PHP templates: render('products/index', [...]) with shared variables in scope. */
final class View
{
    /** @param array<string, mixed> $shared */
    public function __construct(private string $dir, private array $shared)
    {
    }

    /** @param array<string, mixed> $vars */
    public function render(string $template, array $vars = []): string
    {
        ob_start();
        try {
            (function (string $__file, array $__vars): void {
                extract($__vars, EXTR_SKIP);
                require $__file;
            })($this->dir . '/' . $template . '.php', $vars + $this->shared + ['view' => $this]);
        } catch (\Throwable $error) {
            ob_end_clean();
            throw $error;
        }
        return (string) ob_get_clean();
    }
}
