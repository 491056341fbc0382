<?php

declare(strict_types=1);

namespace BanServer\Tests;

require_once __DIR__ . '/Support/bootstrap.php';

use BanServer\Client;
use BanServer\Exception\UnknownJailException;
use BanServer\Tests\Support\Env;
use PHPUnit\Framework\TestCase;

/**
 * The same client against Debian's fail2ban-server 1.0.2: the library is a
 * drop-in for either daemon.
 */
final class Fail2banServerTest extends TestCase
{
    private string $dir;
    private string $socket;

    protected function setUp(): void
    {
        $server = Env::which('fail2ban-server');
        $client = Env::which('fail2ban-client');
        if ($server === null || $client === null) {
            Env::skipOrFail($this, 'fail2ban-server/fail2ban-client not installed (Debian package fail2ban)');
        }
        $this->dir = Env::tempDir('banphp-f2b-');
        $this->socket = $this->dir . '/f2b.sock';
        exec(implode(' ', array_map('escapeshellarg', [$server, '--async', '-b', '-s', $this->socket, '-p', $this->dir . '/f2b.pid', '-x', '--logtarget', $this->dir . '/f2b.log'])) . ' 2>&1', $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
        $sock = $this->socket;
        $this->assertTrue(Env::waitFor(static function () use ($sock): bool {
            try {
                return (new Client($sock, 1.0))->ping();
            } catch (\Throwable $e) {
                return false;
            }
        }, 20.0), 'fail2ban-server did not answer');
        $c = new Client($this->socket, 5.0);
        $c->command(['add', 'api', 'polling']);
        $c->command(['set', 'api', 'maxretry', '10']);
        $c->command(['set', 'api', 'findtime', '1800']);
        $c->command(['set', 'api', 'bantime', '3600']);
        $c->command(['start', 'api']);
    }

    protected function tearDown(): void
    {
        if (isset($this->socket)) {
            try {
                (new Client($this->socket, 5.0))->command(['stop']);
            } catch (\Throwable $e) {
                // Already gone.
            }
            $pid = (int) @file_get_contents($this->dir . '/f2b.pid');
            Env::waitFor(static function () use ($pid): bool {
                return $pid <= 0 || !file_exists("/proc/$pid");
            }, 10.0);
        }
    }

    public function testAgainstFail2banServer(): void
    {
        $c = new Client($this->socket, 5.0, null, true);
        $this->assertTrue($c->ping());
        $this->assertSame(1, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
        $this->assertSame(1, $c->banIp('api', '198.51.100.1'));
        $this->assertTrue($c->isBanned('api', '198.51.100.1'));
        $this->assertFalse($c->isBanned('api', '198.51.100.2'));
        $st = $c->status('api');
        $this->assertSame(['198.51.100.1'], $st['Actions']['Banned IP list']);
        $this->assertSame(1, $st['Filter']['Currently failed']);
        $this->assertSame(['Number of jail' => 1, 'Jail list' => 'api'], $c->status());
        $this->assertSame(['api' => ['198.51.100.1']], $c->banned());
        $this->assertSame(1, $c->unbanIp('api', '198.51.100.1'));
        $this->expectException(UnknownJailException::class);
        $c->attempt('nojail', '192.0.2.7');
    }
}
