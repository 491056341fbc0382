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

    /**
     * The object form answers as fromServer() does (but for a list with an
     * invalid entry, which its constructor refuses: testConstructorRefuses).
     *
     * @dataProvider cases
     *
     * @param array<string, string> $server
     * @param array<int, string>    $proxies
     */
    public function testResolveMatchesFromServer(string $name, array $server, array $proxies, string $want): void
    {
        if ($name === 'invalid proxy entries trust nothing') {
            $this->expectException(\InvalidArgumentException::class);
        }
        $ip = new ClientIp($proxies);
        $this->assertSame(ClientIp::X_FORWARDED_FOR, $ip->header());
        $this->assertSame($want, $ip->resolve($server['REMOTE_ADDR'] ?? '', $server['HTTP_X_FORWARDED_FOR'] ?? ''), $name);
    }

    /** @return array<string, array{0: array<int, mixed>, 1: string}> */
    public function badConfigs(): array
    {
        return [
            'typo in an address' => [['10.0.0.300'], 'X-Forwarded-For'],
            'prefix too long' => [['10.0.0.0/33'], 'X-Forwarded-For'],
            'IPv6 prefix too long' => [['2001:db8::/129'], 'X-Forwarded-For'],
            'prefix not a number' => [['10.0.0.0/x'], 'X-Forwarded-For'],
            'host name' => [['proxy.example'], 'X-Forwarded-For'],
            'not a string' => [[10], 'X-Forwarded-For'],
            'unknown header' => [['10.0.0.0/8'], 'X-Real-IP'],
        ];
    }

    /**
     * @dataProvider badConfigs
     *
     * @param array<int, mixed> $proxies
     */
    public function testConstructorRefuses(array $proxies, string $header): void
    {
        $this->expectException(\InvalidArgumentException::class);
        new ClientIp($proxies, $header);
    }

    public function testHeaderNameCaseInsensitive(): void
    {
        $this->assertSame(ClientIp::FORWARDED, (new ClientIp([], 'forwarded'))->header());
        $this->assertSame(ClientIp::X_FORWARDED_FOR, (new ClientIp([], 'x-forwarded-for'))->header());
    }

    /** @return array<string, array{0: string, 1: string, 2: string}> peer, Forwarded value, want */
    public function forwardedCases(): array
    {
        return [
            'one element' => ['10.0.0.1', 'for=203.0.113.9', '203.0.113.9'],
            'other parameters' => ['10.0.0.1', 'by=10.0.0.1;for=203.0.113.9;proto=https;host=api.example', '203.0.113.9'],
            'parameter name case' => ['10.0.0.1', 'For=203.0.113.9', '203.0.113.9'],
            'spaces' => ['10.0.0.1', ' for = 203.0.113.9 ; proto=https ', '203.0.113.9'],
            'quoted IPv6 with port' => ['10.0.0.1', 'for="[2001:db8:cafe::17]:4711"', '2001:db8:cafe::17'],
            'quoted IPv4 with port' => ['10.0.0.1', 'for="203.0.113.9:4711"', '203.0.113.9'],
            'mapped IPv4' => ['10.0.0.1', 'for="[::ffff:203.0.113.9]"', '203.0.113.9'],
            'chain of trusted proxies skipped' => ['10.0.0.1', 'for=203.0.113.9, for=198.51.100.200, for=10.2.3.4', '203.0.113.9'],
            'spoofed left element not believed' => ['10.0.0.1', 'for=198.51.100.1, for=203.0.113.9', '203.0.113.9'],
            'two header lines joined' => ['10.0.0.1', 'for=198.51.100.1;proto=http, for=203.0.113.9;proto=https', '203.0.113.9'],
            'unclosed quote cannot swallow the proxy element' => ['10.0.0.1', 'for="198.51.100.1, for=203.0.113.9', '203.0.113.9'],
            'quote hiding a comma' => ['10.0.0.1', 'for="198.51.100.1,203.0.113.7", for=203.0.113.9', '203.0.113.9'],
            'unknown and obfuscated skipped' => ['10.0.0.1', 'for=203.0.113.9, for=unknown, for=_hidden', '203.0.113.9'],
            'element without for skipped' => ['10.0.0.1', 'for=203.0.113.9, proto=https', '203.0.113.9'],
            'untrusted peer: header ignored' => ['198.51.100.9', 'for=203.0.113.9', '198.51.100.9'],
            'all trusted: peer' => ['10.0.0.1', 'for=10.3.3.3', '10.0.0.1'],
            'empty header: peer' => ['10.0.0.1', '', '10.0.0.1'],
            'X-Forwarded-For syntax not read as Forwarded' => ['10.0.0.1', '203.0.113.9', '10.0.0.1'],
            'IPv6 peer in a trusted /48' => ['2001:db8:ffff::1', 'for="[2001:db8:1::7]"', '2001:db8:1::7'],
        ];
    }

    /** @dataProvider forwardedCases */
    public function testForwarded(string $peer, string $value, string $want): void
    {
        $ip = new ClientIp(self::PROXIES, ClientIp::FORWARDED);
        $this->assertSame($want, $ip->resolve($peer, $value));
    }

    public function testXForwardedForObjectIgnoresForwarded(): void
    {
        // Configured for X-Forwarded-For, a Forwarded value is garbage: the peer.
        $this->assertSame('10.0.0.1', (new ClientIp(self::PROXIES))->resolve('10.0.0.1', 'for=203.0.113.9'));
    }
}
