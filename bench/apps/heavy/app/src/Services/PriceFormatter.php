<?php

declare(strict_types=1);

namespace Heavy\Services;

/** Prices stored in cents, shown as "1 234,50 EUR". */
final class PriceFormatter
{
    public function __construct(private string $currency, private int $decimals)
    {
    }

    public function format(int $cents): string
    {
        return number_format($cents / 100, $this->decimals, ',', "\u{202F}") . "\u{00A0}" . $this->currency;
    }
}
