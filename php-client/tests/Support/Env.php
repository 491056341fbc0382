<?php

declare(strict_types=1);

namespace BanServer\Tests\Support;

use PHPUnit\Framework\TestCase;

/**
 * Env decides what a test does when a tool it needs is missing: outside CI
 * it is skipped with the reason, with CI=true it fails, so CI can never pass
 * by skipping.
 */
final class Env
{
    /** Skips (or, in CI, fails) the running test with $reason. */
    public static function skipOrFail(TestCase $t, string $reason): void
    {
        if (getenv('CI') === 'true') {
            TestCase::fail('required in CI: ' . $reason);
        }
        TestCase::markTestSkipped($reason);
    }

    /** Returns the path of $cmd on PATH, or null. */
    public static function which(string $cmd): ?string
    {
        foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
            $p = rtrim($dir, '/') . '/' . $cmd;
            if ($dir !== '' && is_file($p) && is_executable($p)) {
                return $p;
            }
        }
        return null;
    }

    /** A fresh temporary directory, removed at shutdown. */
    public static function tempDir(string $prefix): string
    {
        $d = sys_get_temp_dir() . '/' . $prefix . bin2hex(random_bytes(6));
        mkdir($d, 0700);
        register_shutdown_function(static function () use ($d): void {
            exec('rm -rf ' . escapeshellarg($d));
        });
        return $d;
    }

    /** Waits up to $seconds for $check to return true. */
    public static function waitFor(callable $check, float $seconds): bool
    {
        $end = microtime(true) + $seconds;
        do {
            if ($check()) {
                return true;
            }
            usleep(20000);
        } while (microtime(true) < $end);
        return false;
    }
}
