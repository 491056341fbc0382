<?php

declare(strict_types=1);

namespace BanServer\Pickle;

/**
 * Encoder writes a command as a protocol 2 pickle: the lowest protocol both
 * fail2ban-server (any Python 3) and banserver load, with only opcodes that
 * build plain values (no class is ever named).
 */
final class Encoder
{
    /**
     * Pickles a list of values (strings, ints, floats, bools, null, nested
     * lists) as PROTO 2, EMPTY_LIST, MARK, items, APPENDS, STOP.
     *
     * @param array<int, mixed> $args
     */
    public static function command(array $args): string
    {
        return "\x80\x02" . self::value(array_values($args)) . '.';
    }

    /** @param mixed $v */
    private static function value($v): string
    {
        if (is_string($v)) {
            // BINUNICODE must carry UTF-8 or Python refuses the whole message;
            // a stray byte in a log message must not cost the report.
            if (!preg_match('//u', $v)) {
                $v = self::scrub($v);
            }
            return 'X' . pack('V', strlen($v)) . $v;
        }
        if (is_int($v)) {
            if ($v >= 0 && $v < 0x100) {
                return 'K' . chr($v);
            }
            if ($v >= 0 && $v < 0x10000) {
                return 'M' . pack('v', $v);
            }
            if ($v >= -0x80000000 && $v <= 0x7fffffff) {
                return 'J' . pack('V', $v & 0xffffffff);
            }
            return "\x8a\x08" . pack('P', $v); // LONG1, 8 bytes two's complement little-endian
        }
        if (is_float($v)) {
            return 'G' . pack('E', $v);
        }
        if (is_bool($v)) {
            return $v ? "\x88" : "\x89";
        }
        if ($v === null) {
            return 'N';
        }
        if (is_array($v)) {
            if ($v === []) {
                return ']';
            }
            $out = '](';
            foreach ($v as $item) {
                $out .= self::value($item);
            }
            return $out . 'e';
        }
        if (is_object($v) && method_exists($v, '__toString')) {
            return self::value((string) $v);
        }
        throw new \InvalidArgumentException('banserver: cannot pickle a ' . gettype($v));
    }

    /** Keeps every valid UTF-8 sequence and replaces any other byte with U+FFFD. */
    private static function scrub(string $s): string
    {
        return (string) preg_replace_callback(
            '/([\x00-\x7F]|[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}'
            . '|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}|\xF4[\x80-\x8F][\x80-\xBF]{2})|./s',
            static function (array $m): string {
                return isset($m[1]) && $m[1] !== '' ? $m[1] : "\u{FFFD}";
            },
            $s
        );
    }
}
