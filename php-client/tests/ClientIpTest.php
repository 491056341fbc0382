<?php

declare(strict_types=1);

namespace BanServer\Tests;

use BanServer\ClientIp;
use PHPUnit\Framework\TestCase;

/** ClientIp::fromServer: the address to report, behind trusted proxies only. */
final class ClientIpTest extends TestCase
{
    private const PROXIES = ['10.0.0.0/8', '192.0.2.1', '2001:db8:ffff::/48', '198.51.100.128/25'];

    /** @return array<string, array{name: string, server: array<string, string>, proxies: array<int, string>, want: string}> */
    public function cases(): array
    {
        $c = [
            ['name' => 'direct client, no header', 'server' => ['REMOTE_ADDR' => '203.0.113.5'], 'proxies' => self::PROXIES, 'want' => '203.0.113.5'],
            ['name' => 'untrusted peer: header ignored', 'server' => ['REMOTE_ADDR' => '203.0.113.5', 'HTTP_X_FORWARDED_FOR' => '198.51.100.7'], 'proxies' => self::PROXIES, 'want' => '203.0.113.5'],
            ['name' => 'trusted proxy: last entry', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9'], 'proxies' => self::PROXIES, 'want' => '203.0.113.9'],
            ['name' => 'spoofed left entry not believed', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '1.2.3.4, 203.0.113.9'], 'proxies' => self::PROXIES, 'want' => '203.0.113.9'],
            ['name' => 'chain of trusted proxies skipped', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9, 198.51.100.200, 10.9.9.9'], 'proxies' => self::PROXIES, 'want' => '203.0.113.9'],
            ['name' => 'invalid entries ignored', 'server' => ['REMOTE_ADDR' => '192.0.2.1', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9, garbage,  ,unknown'], 'proxies' => self::PROXIES, 'want' => '203.0.113.9'],
            ['name' => 'all trusted: REMOTE_ADDR', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '10.2.2.2, 192.0.2.1'], 'proxies' => self::PROXIES, 'want' => '10.1.2.3'],
            ['name' => 'all invalid: REMOTE_ADDR', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => 'nope'], 'proxies' => self::PROXIES, 'want' => '10.1.2.3'],
            ['name' => 'single-address proxy entry', 'server' => ['REMOTE_ADDR' => '192.0.2.1', 'HTTP_X_FORWARDED_FOR' => '203.0.113.1'], 'proxies' => self::PROXIES, 'want' => '203.0.113.1'],
            ['name' => 'outside a /25', 'server' => ['REMOTE_ADDR' => '198.51.100.127', 'HTTP_X_FORWARDED_FOR' => '203.0.113.1'], 'proxies' => self::PROXIES, 'want' => '198.51.100.127'],
            ['name' => 'IPv6 proxy and client', 'server' => ['REMOTE_ADDR' => '2001:db8:ffff::1', 'HTTP_X_FORWARDED_FOR' => '2001:db8:1::7'], 'proxies' => self::PROXIES, 'want' => '2001:db8:1::7'],
            ['name' => 'IPv6 outside /48', 'server' => ['REMOTE_ADDR' => '2001:db8:fffe::1', 'HTTP_X_FORWARDED_FOR' => '2001:db8:1::7'], 'proxies' => self::PROXIES, 'want' => '2001:db8:fffe::1'],
            ['name' => 'bracketed IPv6 and IPv4 with port', 'server' => ['REMOTE_ADDR' => '10.0.0.1', 'HTTP_X_FORWARDED_FOR' => '[2001:db8::9]:443, 10.0.0.2:8080'], 'proxies' => self::PROXIES, 'want' => '2001:db8::9'],
            ['name' => 'IPv4-mapped peer', 'server' => ['REMOTE_ADDR' => '::ffff:10.0.0.1', 'HTTP_X_FORWARDED_FOR' => '203.0.113.4'], 'proxies' => self::PROXIES, 'want' => '203.0.113.4'],
            ['name' => 'IPv6 canonicalized', 'server' => ['REMOTE_ADDR' => '2001:DB8:0:0::1'], 'proxies' => [], 'want' => '2001:db8::1'],
            ['name' => 'no proxies configured', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9'], 'proxies' => [], 'want' => '10.1.2.3'],
            ['name' => 'invalid proxy entries trust nothing', 'server' => ['REMOTE_ADDR' => '10.1.2.3', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9'], 'proxies' => ['bogus', '10.0.0.0/99', '10.0.0.0/x'], 'want' => '10.1.2.3'],
            ['name' => 'missing REMOTE_ADDR', 'server' => [], 'proxies' => self::PROXIES, 'want' => '0.0.0.0'],
            ['name' => 'invalid REMOTE_ADDR', 'server' => ['REMOTE_ADDR' => 'x', 'HTTP_X_FORWARDED_FOR' => '203.0.113.9'], 'proxies' => ['0.0.0.0/0'], 'want' => '0.0.0.0'],
            ['name' => 'trust everything /0', 'server' => ['REMOTE_ADDR' => '203.0.113.1', 'HTTP_X_FORWARDED_FOR' => '198.51.100.3'], 'proxies' => ['0.0.0.0/0'], 'want' => '203.0.113.1'],
        ];
        $out = [];
        foreach ($c as $case) {
            $out[$case['name']] = $case;
        }
        return $out;
    }

    /**
     * @dataProvider cases
     *
     * @param array<string, string> $server
     * @param array<int, string>    $proxies
     */
    public function testFromServer(string $name, array $server, array $proxies, string $want): void
    {
        $got = ClientIp::fromServer($server, $proxies);
        $this->assertSame($want, $got, $name);
        $this->assertNotFalse(inet_pton($got), "$name: not a valid address");
    }
}
