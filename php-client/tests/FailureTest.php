<?php

declare(strict_types=1);

namespace BanServer\Tests;

require_once __DIR__ . '/Support/bootstrap.php';

use BanServer\Client;
use BanServer\Exception\ConnectionException;
use BanServer\Tests\Support\Env;
use BanServer\Tests\Support\Logger;
use PHPUnit\Framework\TestCase;

/** A daemon that is absent or never answers must not break or hang the caller. */
final class FailureTest extends TestCase
{
    public function testAbsentDaemonFailsOpen(): void
    {
        $sock = Env::tempDir('banphp-') . '/absent.sock';
        $log = new Logger();
        $c = new Client($sock, 0.25, $log);
        $t = microtime(true);
        $this->assertSame(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
        $this->assertLessThan(5.0, microtime(true) - $t, 'attempt hung');
        $this->assertCount(1, $log->warnings);
        $this->assertInstanceOf(ConnectionException::class, $log->warnings[0][1]['exception']);
    }

    public function testAbsentDaemonWithoutLoggerUsesErrorLog(): void
    {
        $dir = Env::tempDir('banphp-');
        $old = ini_set('error_log', $dir . '/php.log');
        try {
            $this->assertSame(0, (new Client($dir . '/absent.sock'))->attempt('api', '192.0.2.7'));
        } finally {
            ini_set('error_log', (string) $old);
        }
        $this->assertStringContainsString('attempt not reported', (string) file_get_contents($dir . '/php.log'));
    }

    /** @return array<string, array{0: callable}> */
    public function throwingCalls(): array
    {
        return [
            'strict attempt' => [static function (string $s) { return (new Client($s, 0.25, null, true))->attempt('api', '192.0.2.7'); }],
            'ping' => [static function (string $s) { return (new Client($s))->ping(); }],
            'banIp' => [static function (string $s) { return (new Client($s))->banIp('api', '192.0.2.7'); }],
            'status' => [static function (string $s) { return (new Client($s))->status(); }],
        ];
    }

    /** @dataProvider throwingCalls */
    public function testAbsentDaemonThrows(callable $call): void
    {
        $this->expectException(ConnectionException::class);
        $call(Env::tempDir('banphp-') . '/absent.sock');
    }

    public function testSilentDaemonTimesOut(): void
    {
        $python = Env::which('python3');
        if ($python === null) {
            Env::skipOrFail($this, 'python3 not installed (the silent fake server)');
        }
        $sock = Env::tempDir('banphp-') . '/silent.sock';
        // Accepts every connection, reads, never answers.
        $script = 'import socket,sys,time' . "\n"
            . 's=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1]);s.listen(16);conns=[]' . "\n"
            . 'while True:' . "\n"
            . '    c,_=s.accept();conns.append(c)' . "\n";
        $proc = proc_open([$python, '-c', $script, $sock], [0 => ['file', '/dev/null', 'r']], $pipes);
        $this->assertIsResource($proc);
        try {
            $this->assertTrue(Env::waitFor(static function () use ($sock): bool { return file_exists($sock); }, 10.0));
            $log = new Logger();
            $c = new Client($sock, 0.25, $log);
            $t = microtime(true);
            $this->assertSame(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
            $this->assertSame(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
            $this->assertLessThan(5.0, microtime(true) - $t, 'attempt hung on a silent daemon');
            $this->assertCount(2, $log->warnings);
            $this->assertStringContainsString('no reply', $log->warnings[0][0]);

            $this->expectException(ConnectionException::class);
            (new Client($sock, 0.25, null, true))->attempt('api', '192.0.2.7');
        } finally {
            proc_terminate($proc, 9);
            proc_close($proc);
        }
    }
}
