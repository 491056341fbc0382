<?php

declare(strict_types=1);

namespace BanServer\Tests\Support;

/**
 * Logger records warnings the way a PSR-3 logger would receive them, without
 * depending on psr/log.
 */
final class Logger
{
    /** @var array<int, array{0: string, 1: array<string, mixed>}> */
    public array $warnings = [];

    /** @param array<string, mixed> $context */
    public function warning(string $message, array $context = []): void
    {
        $this->warnings[] = [$message, $context];
    }
}
