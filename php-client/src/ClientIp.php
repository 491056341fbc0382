<?php

declare(strict_types=1);

namespace BanServer;

/**
 * ClientIp finds the address to report: the peer itself, or, when the peer is
 * a proxy you trust, the address that proxy saw, read from X-Forwarded-For
 * (or RFC 7239 Forwarded).
 *
 * Two ways to use it: the static fromServer() for $_SERVER, or an object
 * built once with the trusted proxies (checked then: a typo throws) and the
 * header your proxies write, asked per request with resolve(). The
 * middleware (BanServer\Middleware\BanMiddleware) takes such an object.
 */
final class ClientIp
{
    /** The de facto header: "client, proxy1, proxy2". */
    public const X_FORWARDED_FOR = 'X-Forwarded-For';

    /** RFC 7239: "for=client;proto=https, for=\"[2001:db8::1]:443\"". */
    public const FORWARDED = 'Forwarded';

    /** @var array<int, array{0: string, 1: int}> packed network address and prefix length */
    private array $nets;

    private string $header;

    /**
     * @param array<int, string> $trustedProxies addresses or CIDR networks, IPv4 or IPv6
     * @param string             $header         self::X_FORWARDED_FOR or self::FORWARDED:
     *                                           the one header your proxies write
     *
     * @throws \InvalidArgumentException an entry of $trustedProxies is not an address or network, or $header is neither
     */
    public function __construct(array $trustedProxies = [], string $header = self::X_FORWARDED_FOR)
    {
        foreach ($trustedProxies as $p) {
            if (!is_string($p) || self::parseNetworks([$p]) === []) {
                throw new \InvalidArgumentException('banserver: trusted proxy ' . json_encode($p) . ' is not an address or CIDR network');
            }
        }
        if (strcasecmp($header, self::X_FORWARDED_FOR) === 0) {
            $header = self::X_FORWARDED_FOR;
        } elseif (strcasecmp($header, self::FORWARDED) === 0) {
            $header = self::FORWARDED;
        } else {
            throw new \InvalidArgumentException("banserver: header must be X-Forwarded-For or Forwarded, not $header");
        }
        $this->nets = self::parseNetworks($trustedProxies);
        $this->header = $header;
    }

    /** The header this object reads: "X-Forwarded-For" or "Forwarded". */
    public function header(): string
    {
        return $this->header;
    }

    /**
     * Returns the client address given the peer address (REMOTE_ADDR) and the
     * value of this object's header (several header lines joined with ", ",
     * as PSR-7's getHeaderLine() does). The rules are fromServer()'s: the
     * header is read only when the peer is a trusted proxy, walked from the
     * right, trusted hops skipped, invalid entries ignored ("unknown" and
     * obfuscated identifiers of Forwarded included); "0.0.0.0" when the peer
     * itself is not a valid address.
     */
    public function resolve(string $remoteAddr, string $headerValue): string
    {
        $remote = self::normalize($remoteAddr);
        if ($remote === null) {
            return '0.0.0.0';
        }
        if ($headerValue === '' || !self::trusted($remote, $this->nets)) {
            return $remote;
        }
        $hops = $this->header === self::FORWARDED ? self::forwardedFor($headerValue) : explode(',', $headerValue);
        return self::walk($remote, $hops, $this->nets);
    }

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
        return self::walk($remote, explode(',', $header), $nets);
    }

    /**
     * Walks the hops from the right (the nearest proxy's entry) and returns
     * the first valid address that is not a trusted proxy, else $remote.
     *
     * @param array<int, string>                   $hops as written, left to right
     * @param array<int, array{0: string, 1: int}> $nets
     */
    private static function walk(string $remote, array $hops, array $nets): string
    {
        for ($i = count($hops) - 1; $i >= 0; $i--) {
            $ip = self::normalize(trim($hops[$i]));
            if ($ip === null) {
                continue;
            }
            if (!self::trusted($ip, $nets)) {
                return $ip;
            }
        }
        return $remote;
    }

    /**
     * The for= value of each element of a Forwarded header, left to right;
     * "" for an element without one. Elements are split at every comma and
     * their pairs at every semicolon, quotes or not: no valid address holds
     * either, and a client that opens a quote it never closes must not swallow
     * the elements the proxies append after it.
     *
     * @return array<int, string>
     */
    private static function forwardedFor(string $value): array
    {
        $out = [];
        foreach (explode(',', $value) as $element) {
            $for = '';
            foreach (explode(';', $element) as $pair) {
                $eq = strpos($pair, '=');
                if ($eq === false || strcasecmp(trim(substr($pair, 0, $eq)), 'for') !== 0) {
                    continue;
                }
                $for = trim(substr($pair, $eq + 1));
                $n = strlen($for);
                if ($n >= 2 && $for[0] === '"' && $for[$n - 1] === '"') {
                    $for = substr($for, 1, -1);
                }
                break;
            }
            $out[] = $for;
        }
        return $out;
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
