<?php

declare(strict_types=1);

namespace BanServer\Tests;

require_once __DIR__ . '/Support/bootstrap.php';

use BanServer\Client;
use BanServer\Exception\InvalidValueException;
use BanServer\Exception\ServerException;
use BanServer\Exception\UnknownJailException;
use BanServer\Tests\Support\Daemon;
use BanServer\Tests\Support\Logger;
use PHPUnit\Framework\TestCase;

/** The client against a real banserver started for each test. */
final class ClientTest extends TestCase
{
    private Daemon $daemon;

    protected function setUp(): void
    {
        $this->daemon = Daemon::start($this);
    }

    protected function tearDown(): void
    {
        $this->daemon->stop();
    }

    /** @return array<string, array{0: int, 1: bool}> */
    public function badTokens(): array
    {
        return [
            'nine bad tokens do not ban' => [9, false],
            'ten bad tokens ban' => [10, true],
        ];
    }

    /** @dataProvider badTokens */
    public function testBadTokensBan(int $attempts, bool $banned): void
    {
        $c = new Client($this->daemon->socket);
        for ($i = 0; $i < $attempts; $i++) {
            $this->assertGreaterThan(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
        }
        $this->assertSame($banned, $c->isBanned('api', '192.0.2.7'));
        $this->assertSame($banned ? ['api' => ['192.0.2.7']] : ['api' => []], $c->banned());
    }

    public function testUnknownJail(): void
    {
        $c = new Client($this->daemon->socket, 0.25, null, true);
        try {
            $c->attempt('nojail', '192.0.2.7');
            $this->fail('no exception');
        } catch (UnknownJailException $e) {
            $this->assertSame('fail2ban.exceptions.UnknownJailException', $e->getPythonClass());
            $this->assertSame('nojail', $e->getServerMessage());
        }
        $this->expectException(UnknownJailException::class);
        (new Client($this->daemon->socket))->status('nojail');
    }

    public function testUnknownJailFailsOpenByDefault(): void
    {
        $log = new Logger();
        $c = new Client($this->daemon->socket, 0.25, $log);
        $this->assertSame(0, $c->attempt('nojail', '192.0.2.7'));
        $this->assertCount(1, $log->warnings);
        $this->assertStringContainsString('nojail', $log->warnings[0][0]);
        $this->assertInstanceOf(UnknownJailException::class, $log->warnings[0][1]['exception']);
    }

    public function testInvalidAddress(): void
    {
        $this->expectException(InvalidValueException::class);
        (new Client($this->daemon->socket))->banIp('api', 'not-an-ip');
    }

    public function testBanUnbanBannedStatusPing(): void
    {
        $c = new Client($this->daemon->socket);
        $this->assertTrue($c->ping());
        $this->assertSame(2, $c->banIp('api', '198.51.100.1', '2001:db8::1'));
        $this->assertTrue($c->isBanned('api', '198.51.100.1'));
        $this->assertTrue($c->isBanned('api', '2001:db8::1'));
        $this->assertSame(['api'], $c->banned('198.51.100.1'));
        $this->assertSame([], $c->banned('198.51.100.2'));
        $this->assertSame(['Number of jail' => 1, 'Jail list' => 'api'], $c->status());
        $st = $c->status('api');
        $this->assertSame(2, $st['Actions']['Currently banned']);
        $this->assertEqualsCanonicalizing(['198.51.100.1', '2001:db8::1'], $st['Actions']['Banned IP list']);
        $this->assertSame(0, $st['Filter']['Currently failed']);
        $this->assertSame(1, $c->unbanIp('api', '198.51.100.1'));
        $this->assertFalse($c->isBanned('api', '198.51.100.1'));
        $this->assertSame(['api' => ['2001:db8::1']], $c->banned());
    }

    public function testCommandGeneric(): void
    {
        $c = new Client($this->daemon->socket);
        $this->assertSame(10, $c->command(['get', 'api', 'maxretry']));
        $this->assertSame(1800, $c->command(['get', 'api', 'findtime']));
        $this->assertSame(3600, $c->command(['get', 'api', 'bantime']));
        $this->assertSame(['héllo', 'x'], $c->command(['echo', 'héllo', 'x']));
        $this->assertSame('pong', $c->command(['ping']));
        try {
            $c->command(['nonsense']);
            $this->fail('no exception');
        } catch (ServerException $e) {
            $this->assertSame('builtins.Exception', $e->getPythonClass());
            $this->assertStringContainsString('Invalid command', $e->getMessage());
        }
        // The connection carries on after an exception reply.
        $this->assertTrue($c->ping());
    }

    public function testDaemonRestartedBetweenCalls(): void
    {
        $c = new Client($this->daemon->socket, 0.25, null, true);
        $this->assertGreaterThan(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
        $this->daemon->restart($this);
        // The kept connection is dead: the call reconnects once and succeeds.
        $this->assertGreaterThan(0, $c->attempt('api', '192.0.2.7', 'Incorrect token used.'));
        $this->assertTrue($c->ping());
    }
}
