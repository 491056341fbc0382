<?php

declare(strict_types=1);

namespace BanServer\Tests\Support;

use BanServer\Client;
use PHPUnit\Framework\TestCase;

/**
 * Daemon runs a real banserver for a test: its own temporary config (jail
 * api: maxretry 10, findtime 30m, bantime 1h, no actions), its own socket,
 * --db none. The binary is bin/banserver of the repository (`make build`),
 * else $BANSERVER_BIN, else built once with go into a temporary directory.
 */
final class Daemon
{
    /** @var string|null the binary, found or built once per PHPUnit run */
    private static ?string $binary = null;

    /** Socket path the daemon listens on. */
    public string $socket;

    private string $dir;

    /** @var resource|null */
    private $proc;

    private function __construct(string $dir)
    {
        $this->dir = $dir;
        $this->socket = $dir . '/ban.sock';
    }

    /** Starts a daemon in a new temporary directory, or skips/fails the test. */
    public static function start(TestCase $t): self
    {
        $d = new self(Env::tempDir('banphp-'));
        $d->run($t);
        return $d;
    }

    /** Stops this daemon and starts a new one on the same socket. */
    public function restart(TestCase $t): void
    {
        $this->stop();
        $this->run($t);
    }

    /** Stops the daemon (SIGTERM, then SIGKILL), idempotent. */
    public function stop(): void
    {
        if ($this->proc === null) {
            return;
        }
        proc_terminate($this->proc, 15);
        $ok = Env::waitFor(function (): bool {
            return !proc_get_status($this->proc)['running'];
        }, 5.0);
        if (!$ok) {
            proc_terminate($this->proc, 9);
        }
        proc_close($this->proc);
        $this->proc = null;
    }

    public function __destruct()
    {
        $this->stop();
    }

    /** The daemon's log so far, for failure messages. */
    public function log(): string
    {
        return (string) @file_get_contents($this->dir . '/daemon.log');
    }

    private function run(TestCase $t): void
    {
        $bin = self::binary($t);
        $config = $this->dir . '/banserver.yaml';
        file_put_contents($config, <<<YAML
            socket:
              path: {$this->socket}
            log:
              level: warning
            jails:
              - name: api
                maxretry: 10
                findtime: 30m
                bantime: 1h
                actions: []
            YAML);
        $log = $this->dir . '/daemon.log';
        $this->proc = proc_open(
            [$bin, '--config', $config, '--db', 'none'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']],
            $pipes
        );
        if ($this->proc === false) {
            TestCase::fail("cannot start $bin");
        }
        $sock = $this->socket;
        $up = Env::waitFor(static function () use ($sock): bool {
            try {
                return (new Client($sock, 1.0))->ping();
            } catch (\Throwable $e) {
                return false;
            }
        }, 15.0);
        if (!$up) {
            $this->stop();
            TestCase::fail("banserver did not answer on $sock:\n" . $this->log());
        }
    }

    private static function binary(TestCase $t): string
    {
        if (self::$binary !== null) {
            return self::$binary;
        }
        $env = getenv('BANSERVER_BIN');
        $repo = dirname(__DIR__, 3);
        foreach ([$env === false ? '' : $env, $repo . '/bin/banserver'] as $p) {
            if ($p !== '' && is_executable($p)) {
                return self::$binary = $p;
            }
        }
        if (Env::which('go') === null && !is_executable('/usr/local/go/bin/go')) {
            Env::skipOrFail($t, 'no banserver binary (make build) and no go to build one');
        }
        $go = Env::which('go') ?? '/usr/local/go/bin/go';
        $out = Env::tempDir('banphp-bin-') . '/banserver';
        exec('cd ' . escapeshellarg($repo) . ' && ' . escapeshellarg($go) . ' build -o ' . escapeshellarg($out) . ' ./cmd/banserver 2>&1', $lines, $rc);
        if ($rc !== 0) {
            TestCase::fail("go build ./cmd/banserver failed:\n" . implode("\n", $lines));
        }
        return self::$binary = $out;
    }
}
