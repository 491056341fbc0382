<?php

declare(strict_types=1);

namespace BanServer;

/**
 * ClientIp finds the address to report: the peer itself, or, when the peer is
 * a proxy you trust, the address that proxy saw, read from X-Forwarded-For.
 */
final class ClientIp
{
    /**
     * Returns the client address behind trusted proxies.
     *
     * REMOTE_ADDR is the answer unless it lies in one of $trustedProxies
     * (addresses or CIDR networks, IPv4 and IPv6). Only then is
     * X-Forwarded-For walked from the right, where each trusted proxy appended
     * the address it saw: trusted entries are skipped, invalid ones ignored, and
     * the first untrusted address is returned. A client can write anything at
     * the left of the header, so nothing left of that address is believed.
     * When every entry is trusted or invalid, REMOTE_ADDR is returned; the
     * result is always a valid address ("0.0.0.0" when REMOTE_ADDR itself is
     * missing or invalid, as under the CLI).
     *
     * @param array<string, mixed> $server         $_SERVER
     * @param array<int, string>   $trustedProxies e.g. ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']
     */
    public static function fromServer(array $server, array $trustedProxies): string
    {
        $remote = self::normalize((string) ($server['REMOTE_ADDR'] ?? ''));
        if ($remote === null) {
            // No usable peer at all (CLI, broken SAPI): report nothing real.
            return '0.0.0.0';
        }
        $nets = self::parseNetworks($trustedProxies);
        if (!self::trusted($remote, $nets)) {
            return $remote;
        }
        $header = $server['HTTP_X_FORWARDED_FOR'] ?? '';
        if (!is_string($header) || $header === '') {
            return $remote;
        }
        $entries = explode(',', $header);
        for ($i = count($entries) - 1; $i >= 0; $i--) {
            $ip = self::normalize(trim($entries[$i]));
            if ($ip === null) {
                continue;
            }
            if (!self::trusted($ip, $nets)) {
                return $ip;
            }
        }
        return $remote;
    }

    /** Tells whether $ip (IPv4 or IPv6) lies in $cidr ("192.0.2.0/24", "2001:db8::/32", or an address). */
    public static function inNetwork(string $ip, string $cidr): bool
    {
        $nets = self::parseNetworks([$cidr]);
        $ip = self::normalize($ip);
        return $ip !== null && self::trusted($ip, $nets);
    }

    /**
     * Validates an address and returns its canonical text; "[2001:db8::1]",
     * "192.0.2.1:443" and IPv4-mapped IPv6 are accepted as forwarded headers
     * carry them.
     */
    private static function normalize(string $s): ?string
    {
        if ($s === '') {
            return null;
        }
        if ($s[0] === '[') {
            $end = strpos($s, ']');
            if ($end === false) {
                return null;
            }
            $s = substr($s, 1, $end - 1);
        } elseif (substr_count($s, ':') === 1) {
            $s = substr($s, 0, (int) strpos($s, ':')); // IPv4 with a port
        }
        if (($pct = strpos($s, '%')) !== false) {
            $s = substr($s, 0, $pct); // IPv6 zone
        }
        $bin = @inet_pton($s);
        if ($bin === false) {
            return null;
        }
        if (strlen($bin) === 16 && strncmp($bin, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) === 0) {
            $bin = substr($bin, 12); // ::ffff:192.0.2.1 is 192.0.2.1
        }
        $out = inet_ntop($bin);
        return $out === false ? null : $out;
    }

    /**
     * @param array<int, string> $list
     *
     * @return array<int, array{0: string, 1: int}> packed network address and prefix length
     */
    private static function parseNetworks(array $list): array
    {
        $nets = [];
        foreach ($list as $cidr) {
            $cidr = trim((string) $cidr);
            $bits = null;
            if (($slash = strpos($cidr, '/')) !== false) {
                $b = substr($cidr, $slash + 1);
                $cidr = substr($cidr, 0, $slash);
                if (!preg_match('/^\d{1,3}$/', $b)) {
                    continue;
                }
                $bits = (int) $b;
            }
            $bin = @inet_pton($cidr);
            if ($bin === false) {
                continue; // a typo in the list must not trust the world
            }
            $max = strlen($bin) * 8;
            $bits = $bits ?? $max;
            if ($bits > $max) {
                continue;
            }
            if (strlen($bin) === 16 && strncmp($bin, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) === 0 && $bits >= 96) {
                $bin = substr($bin, 12);
                $bits -= 96;
            }
            $nets[] = [$bin, $bits];
        }
        return $nets;
    }

    /** @param array<int, array{0: string, 1: int}> $nets */
    private static function trusted(string $ip, array $nets): bool
    {
        $bin = (string) inet_pton($ip);
        foreach ($nets as [$net, $bits]) {
            if (strlen($net) !== strlen($bin)) {
                continue;
            }
            $bytes = intdiv($bits, 8);
            if ($bytes > 0 && strncmp($bin, $net, $bytes) !== 0) {
                continue;
            }
            $rest = $bits % 8;
            if ($rest !== 0) {
                $mask = (0xff << (8 - $rest)) & 0xff;
                if ((ord($bin[$bytes]) & $mask) !== (ord($net[$bytes]) & $mask)) {
                    continue;
                }
            }
            return true;
        }
        return false;
    }
}
