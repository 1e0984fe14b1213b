<?php

declare(strict_types=1);

namespace Heavy\Services;

/** Writes messages at or above its level to PHP's error log (the server's log). */
final class Logger
{
    private const LEVELS = ['debug' => 0, 'info' => 1, 'warning' => 2, 'error' => 3];

    public function __construct(private string $level)
    {
    }

    public function debug(string $message): void
    {
        $this->log('debug', $message);
    }

    public function warning(string $message): void
    {
        $this->log('warning', $message);
    }

    private function log(string $level, string $message): void
    {
        if (self::LEVELS[$level] >= (self::LEVELS[$this->level] ?? 0)) {
            error_log("[$level] $message");
        }
    }
}
