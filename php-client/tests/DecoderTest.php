<?php

declare(strict_types=1);

namespace BanServer\Tests;

use BanServer\Exception\ProtocolException;
use BanServer\Pickle\Decoder;
use BanServer\Pickle\PythonException;
use PHPUnit\Framework\TestCase;

/**
 * The decoder against replies recorded from fail2ban-server 1.0.2 and values
 * pickled by Python itself (fixtures/*.py regenerate them).
 */
final class DecoderTest extends TestCase
{
    /** @return array<string, array{0: string, 1: mixed}> */
    public function fail2banReplies(): array
    {
        $d = json_decode((string) file_get_contents(__DIR__ . '/fixtures/fail2ban-replies.json'), true, 512, JSON_THROW_ON_ERROR);
        $cases = [];
        foreach ($d['replies'] as $r) {
            $name = is_array($r['request']) ? implode(' ', $r['request']) : $r['request'];
            $cases[$name] = [$r['reply_hex'], $r['expected']];
        }
        return $cases;
    }

    /**
     * @dataProvider fail2banReplies
     *
     * @param mixed $expected
     */
    public function testFail2banReply(string $hex, $expected): void
    {
        $this->assertSame(self::expected($expected), self::plain(Decoder::decode((string) hex2bin($hex))));
    }

    /** @return array<string, array{0: string, 1: mixed}> */
    public function pythonValues(): array
    {
        $d = json_decode((string) file_get_contents(__DIR__ . '/fixtures/pickles.json'), true, 512, JSON_THROW_ON_ERROR);
        $cases = [];
        foreach ($d['values'] as $c) {
            $cases[$c['name']] = [$c['hex'], $c['expected']];
        }
        return $cases;
    }

    /**
     * @dataProvider pythonValues
     *
     * @param mixed $expected
     */
    public function testPythonValue(string $hex, $expected): void
    {
        $this->assertSame(self::expected($expected), self::plain(Decoder::decode((string) hex2bin($hex))));
    }

    /** @return array<string, array{0: string}> */
    public function hostile(): array
    {
        $d = json_decode((string) file_get_contents(__DIR__ . '/fixtures/pickles.json'), true, 512, JSON_THROW_ON_ERROR);
        $cases = [];
        foreach ($d['hostile'] as $c) {
            $cases[$c['name']] = [$c['hex']];
        }
        return $cases;
    }

    /** @dataProvider hostile */
    public function testHostileRefused(string $hex): void
    {
        $this->expectException(ProtocolException::class);
        Decoder::decode((string) hex2bin($hex));
    }

    public function testSharedListIsFilledAfterMemo(): void
    {
        // l = []; t = (l, l) referenced before l gets its item, as Python
        // memoizes a list before filling it: every reference sees the item.
        $v = Decoder::decode("\x80\x02]q\x00h\x00h\x00\x86q\x010K\x07ah\x01\x86.");
        $this->assertSame([[7], [[7], [7]]], $v);
    }

    /** Fixture JSON into the PHP values the decoder returns. */
    private static function expected($v)
    {
        if (!is_array($v)) {
            return $v;
        }
        if (array_key_exists('__bytes_hex__', $v)) {
            return (string) hex2bin($v['__bytes_hex__']);
        }
        if (array_key_exists('__float__', $v)) {
            return self::hexFloat($v['__float__']);
        }
        if (array_key_exists('__exception__', $v)) {
            return ['__exception__' => $v['__exception__'], 'args' => array_map([self::class, 'expected'], $v['args'])];
        }
        if (array_key_exists('__dict__', $v)) {
            $out = [];
            foreach ($v['__dict__'] as [$k, $x]) {
                $out[$k] = self::expected($x);
            }
            return $out;
        }
        return array_map([self::class, 'expected'], $v);
    }

    /** Decoded values with exceptions turned into comparable arrays; sets sorted. */
    private static function plain($v)
    {
        if ($v instanceof PythonException) {
            return ['__exception__' => $v->class, 'args' => array_map([self::class, 'plain'], $v->args)];
        }
        if (is_array($v)) {
            return array_map([self::class, 'plain'], $v);
        }
        return $v;
    }

    /** Parses Python's float.hex() ("0x1.8000000000000p+0"). */
    private static function hexFloat(string $h): float
    {
        if (!preg_match('/^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/', $h, $m)) {
            throw new \RuntimeException("bad float.hex $h");
        }
        $mant = (float) $m[2];
        $scale = 1.0;
        foreach (str_split($m[3]) as $digit) {
            $scale /= 16;
            $mant += hexdec($digit) * $scale;
        }
        $exp = (int) $m[4];
        // Subnormals appear as 0x0.xxxp-1022: ldexp in two steps keeps precision.
        $v = $mant * 2 ** max($exp, -1000) * 2 ** ($exp - max($exp, -1000));
        return $m[1] === '-' ? -$v : $v;
    }
}
