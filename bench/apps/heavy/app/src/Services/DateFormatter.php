<?php

declare(strict_types=1);

namespace Heavy\Services;

use DateTimeImmutable;
use DateTimeZone;

/** Timestamps shown in the app's time zone, plus a relative "3 days ago". */
final class DateFormatter
{
    private DateTimeZone $zone;

    public function __construct(private string $format)
    {
        $this->zone = new DateTimeZone(date_default_timezone_get());
    }

    public function format(int $timestamp): string
    {
        return (new DateTimeImmutable('@' . $timestamp))->setTimezone($this->zone)->format($this->format);
    }

    public function relative(int $timestamp, int $now): string
    {
        $days = intdiv(max(0, $now - $timestamp), 86400);
        return match (true) {
            $days === 0 => 'today',
            $days === 1 => 'yesterday',
            $days < 30 => "$days days ago",
            default => intdiv($days, 30) . ' months ago',
        };
    }
}
