<?php

declare(strict_types=1);

namespace BanServer\Pickle;

use BanServer\Exception\ProtocolException;

/**
 * Decoder reads the replies fail2ban-server 1.0.2 and banserver send
 * (pickle protocols 2 to 5) into plain PHP values: tuples, lists and sets
 * become lists, dicts associative arrays, bytes and str strings, None null.
 *
 * It is not an unpickler: it knows a fixed set of opcodes and classes.
 * builtins.str (fail2ban pickles its IPAddr as str(address)) becomes a string
 * and the allowed exception classes become PythonException descriptions;
 * any other class is refused, and nothing is ever looked up or instantiated
 * by name. Every length is checked against the buffer before it is read, and
 * the stack, marks and nesting are capped, so a hostile reply costs at most
 * a ProtocolException.
 */
final class Decoder
{
    /** Deepest nesting of containers accepted. */
    public const MAX_DEPTH = 64;

    /** Most values on the unpickling stack at once. */
    public const MAX_STACK = 1 << 16;

    /**
     * @var array<string, int> allowed classes: 1 str(), 2 exceptions,
     *                         3 bytes() and 4 _codecs.encode(text, 'latin1'), which is how protocol 2
     *                         spells bytes, 5 set() and frozenset() of a list (protocols 2 and 3)
     */
    private const CLASSES = [
        'builtins.str' => 1,
        'builtins.bytes' => 3,
        '_codecs.encode' => 4,
        'builtins.set' => 5,
        'builtins.frozenset' => 5,
        'builtins.Exception' => 2,
        'builtins.ValueError' => 2,
        'builtins.KeyError' => 2,
        'builtins.LookupError' => 2,
        'builtins.IndexError' => 2,
        'builtins.TypeError' => 2,
        'builtins.NameError' => 2,
        'builtins.AttributeError' => 2,
        'builtins.RuntimeError' => 2,
        'builtins.NotImplementedError' => 2,
        'builtins.AssertionError' => 2,
        'builtins.OSError' => 2,
        'builtins.PermissionError' => 2,
        'fail2ban.exceptions.UnknownJailException' => 2,
        'fail2ban.exceptions.DuplicateJailException' => 2,
    ];

    /**
     * Decodes one pickle. Bytes after STOP are ignored, as Python does.
     *
     * @return mixed
     *
     * @throws ProtocolException when the pickle is malformed, truncated,
     *                           too deep, or names a class not allowed
     */
    public static function decode(string $data)
    {
        $len = strlen($data);
        $pos = 0;
        $stack = [];
        $marks = [];
        $memo = [];
        while ($pos < $len) {
            $op = $data[$pos++];
            switch ($op) {
                case "\x80": // PROTO
                    self::need($pos, 1, $len);
                    $proto = ord($data[$pos++]);
                    if ($proto > 5) {
                        throw new ProtocolException("banserver: unsupported pickle protocol $proto");
                    }
                    break;
                case "\x95": // FRAME: a hint for buffered readers; we have it all
                    self::need($pos, 8, $len);
                    $n = unpack('P', $data, $pos)[1];
                    $pos += 8;
                    if ($n < 0 || $n > $len - $pos) {
                        throw new ProtocolException('banserver: pickle frame beyond the reply');
                    }
                    break;
                case '.': // STOP
                    if ($stack === []) {
                        throw new ProtocolException('banserver: pickle STOP on an empty stack');
                    }
                    $seen = [];
                    return self::unbox(array_pop($stack), 0, $seen);
                case '(': // MARK
                    if (count($marks) >= self::MAX_DEPTH * 4) {
                        throw new ProtocolException('banserver: pickle too deep');
                    }
                    $marks[] = count($stack);
                    break;
                case 'N':
                    $stack[] = null;
                    break;
                case "\x88":
                    $stack[] = true;
                    break;
                case "\x89":
                    $stack[] = false;
                    break;
                case 'K': // BININT1
                    self::need($pos, 1, $len);
                    $stack[] = ord($data[$pos++]);
                    break;
                case 'M': // BININT2
                    self::need($pos, 2, $len);
                    $stack[] = unpack('v', $data, $pos)[1];
                    $pos += 2;
                    break;
                case 'J': // BININT: signed 32-bit little-endian
                    self::need($pos, 4, $len);
                    $v = unpack('V', $data, $pos)[1];
                    $pos += 4;
                    $stack[] = $v >= 0x80000000 ? $v - 0x100000000 : $v;
                    break;
                case "\x8a": // LONG1
                    self::need($pos, 1, $len);
                    $n = ord($data[$pos++]);
                    self::need($pos, $n, $len);
                    $stack[] = self::long(substr($data, $pos, $n));
                    $pos += $n;
                    break;
                case "\x8b": // LONG4
                    self::need($pos, 4, $len);
                    $n = unpack('V', $data, $pos)[1];
                    $pos += 4;
                    self::need($pos, $n, $len);
                    $stack[] = self::long(substr($data, $pos, $n));
                    $pos += $n;
                    break;
                case 'I': // INT (text; I01/I00 are protocol 0 booleans)
                    $line = self::line($data, $pos, $len);
                    if ($line === '01' || $line === '00') {
                        $stack[] = $line === '01';
                    } elseif (preg_match('/^[+-]?\d{1,18}$/', $line)) {
                        $stack[] = (int) $line;
                    } else {
                        throw new ProtocolException('banserver: pickle INT out of range');
                    }
                    break;
                case 'G': // BINFLOAT: big-endian double
                    self::need($pos, 8, $len);
                    $stack[] = unpack('E', $data, $pos)[1];
                    $pos += 8;
                    break;
                case "\x8c": // SHORT_BINUNICODE
                case 'U': // SHORT_BINSTRING
                case 'C': // SHORT_BINBYTES
                    self::need($pos, 1, $len);
                    $n = ord($data[$pos++]);
                    self::need($pos, $n, $len);
                    $stack[] = (string) substr($data, $pos, $n);
                    $pos += $n;
                    break;
                case 'X': // BINUNICODE
                case 'B': // BINBYTES
                case 'T': // BINSTRING (signed length; negative is an error below)
                    self::need($pos, 4, $len);
                    $n = unpack('V', $data, $pos)[1];
                    $pos += 4;
                    self::need($pos, $n, $len);
                    $stack[] = (string) substr($data, $pos, $n);
                    $pos += $n;
                    break;
                case "\x8d": // BINUNICODE8
                case "\x8e": // BINBYTES8
                    self::need($pos, 8, $len);
                    $n = unpack('P', $data, $pos)[1];
                    $pos += 8;
                    if ($n < 0) {
                        throw new ProtocolException('banserver: pickle string beyond the reply');
                    }
                    self::need($pos, $n, $len);
                    $stack[] = (string) substr($data, $pos, $n);
                    $pos += $n;
                    break;
                case ')':
                    $stack[] = new Box(Box::TUPLE);
                    break;
                case ']':
                    $stack[] = new Box(Box::LIST);
                    break;
                case '}':
                    $stack[] = new Box(Box::DICT);
                    break;
                case "\x8f": // EMPTY_SET
                    $stack[] = new Box(Box::LIST);
                    break;
                case 't': // TUPLE
                    $stack[] = new Box(Box::TUPLE, self::popMark($stack, $marks));
                    break;
                case 'l': // LIST
                    $stack[] = new Box(Box::LIST, self::popMark($stack, $marks));
                    break;
                case "\x91": // FROZENSET
                    $stack[] = new Box(Box::LIST, self::popMark($stack, $marks));
                    break;
                case "\x85": // TUPLE1
                case "\x86": // TUPLE2
                case "\x87": // TUPLE3
                    $n = ord($op) - 0x84;
                    if (count($stack) < $n) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    $stack[] = new Box(Box::TUPLE, array_splice($stack, -$n));
                    break;
                case 'a': // APPEND
                    if (count($stack) < 2) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    $v = array_pop($stack);
                    self::container($stack, Box::LIST)->items[] = $v;
                    break;
                case 'e': // APPENDS
                case "\x90": // ADDITEMS
                    $items = self::popMark($stack, $marks);
                    $box = self::container($stack, Box::LIST);
                    foreach ($items as $v) {
                        $box->items[] = $v;
                    }
                    break;
                case 'd': // DICT
                    $items = self::popMark($stack, $marks);
                    $box = new Box(Box::DICT);
                    self::setItems($box, $items);
                    $stack[] = $box;
                    break;
                case 's': // SETITEM
                    if (count($stack) < 3) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    $items = array_splice($stack, -2);
                    self::setItems(self::container($stack, Box::DICT), $items);
                    break;
                case 'u': // SETITEMS
                    $items = self::popMark($stack, $marks);
                    self::setItems(self::container($stack, Box::DICT), $items);
                    break;
                case 'p': // PUT
                    $i = self::index(self::line($data, $pos, $len));
                    self::put($stack, $memo, $i);
                    break;
                case 'q': // BINPUT
                    self::need($pos, 1, $len);
                    self::put($stack, $memo, ord($data[$pos++]));
                    break;
                case 'r': // LONG_BINPUT
                    self::need($pos, 4, $len);
                    self::put($stack, $memo, unpack('V', $data, $pos)[1]);
                    $pos += 4;
                    break;
                case "\x94": // MEMOIZE
                    self::put($stack, $memo, count($memo));
                    break;
                case 'g': // GET
                    $stack[] = self::get($memo, self::index(self::line($data, $pos, $len)));
                    break;
                case 'h': // BINGET
                    self::need($pos, 1, $len);
                    $stack[] = self::get($memo, ord($data[$pos++]));
                    break;
                case 'j': // LONG_BINGET
                    self::need($pos, 4, $len);
                    $stack[] = self::get($memo, unpack('V', $data, $pos)[1]);
                    $pos += 4;
                    break;
                case 'c': // GLOBAL module\nname\n
                    $module = self::line($data, $pos, $len);
                    $name = self::line($data, $pos, $len);
                    $stack[] = self::cls($module, $name);
                    break;
                case "\x93": // STACK_GLOBAL
                    if (count($stack) < 2) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    [$module, $name] = array_splice($stack, -2);
                    if (!is_string($module) || !is_string($name)) {
                        throw new ProtocolException('banserver: pickle STACK_GLOBAL needs two strings');
                    }
                    $stack[] = self::cls($module, $name);
                    break;
                case 'R': // REDUCE: only the allowed classes, applied by hand
                    if (count($stack) < 2) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    [$cls, $args] = array_splice($stack, -2);
                    $stack[] = self::reduce($cls, $args);
                    break;
                case 'b': // BUILD: exception state (__dict__) is dropped
                    if (count($stack) < 2) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    array_pop($stack);
                    $top = $stack[count($stack) - 1];
                    if (!$top instanceof Box || $top->kind !== Box::EXC) {
                        throw new ProtocolException('banserver: pickle BUILD on a value that is not an exception');
                    }
                    break;
                case '0': // POP
                    if ($stack === []) {
                        throw new ProtocolException('banserver: pickle stack underflow');
                    }
                    array_pop($stack);
                    break;
                default:
                    throw new ProtocolException(sprintf('banserver: pickle opcode 0x%02x not supported', ord($op)));
            }
            if (count($stack) > self::MAX_STACK) {
                throw new ProtocolException('banserver: pickle stack too large');
            }
        }
        throw new ProtocolException('banserver: pickle truncated (no STOP)');
    }

    private static function need(int $pos, int $n, int $len): void
    {
        if ($n < 0 || $n > $len - $pos) {
            throw new ProtocolException('banserver: pickle truncated');
        }
    }

    /** Reads up to the next newline (text opcodes), bounded by the buffer. */
    private static function line(string $data, int &$pos, int $len): string
    {
        $end = strpos($data, "\n", $pos);
        if ($end === false || $end - $pos > 256) {
            throw new ProtocolException('banserver: pickle line truncated');
        }
        $line = substr($data, $pos, $end - $pos);
        $pos = $end + 1;
        return $line;
    }

    private static function index(string $line): int
    {
        if (!preg_match('/^\d{1,9}$/', $line)) {
            throw new ProtocolException('banserver: pickle memo index invalid');
        }
        return (int) $line;
    }

    /** Decodes a little-endian two's complement integer that must fit a PHP int. */
    private static function long(string $b): int
    {
        $n = strlen($b);
        if ($n === 0) {
            return 0;
        }
        $negative = (ord($b[$n - 1]) & 0x80) !== 0;
        if ($n > 8) {
            // Wider encodings are fine only as sign extension of 8 bytes.
            $fill = $negative ? "\xff" : "\x00";
            if (strspn($b, $fill, 8) !== $n - 8 || ((ord($b[7]) & 0x80) !== 0) !== $negative) {
                throw new ProtocolException('banserver: pickle integer beyond the PHP int range');
            }
            $b = substr($b, 0, 8);
        } elseif ($n < 8) {
            $b .= str_repeat($negative ? "\xff" : "\x00", 8 - $n);
        }
        return unpack('P', $b)[1];
    }

    /**
     * Pops the values above the topmost mark.
     *
     * @param array<int, mixed> $stack
     * @param array<int, int>   $marks
     *
     * @return array<int, mixed>
     */
    private static function popMark(array &$stack, array &$marks): array
    {
        if ($marks === []) {
            throw new ProtocolException('banserver: pickle has no MARK');
        }
        return array_splice($stack, array_pop($marks));
    }

    /** @param array<int, mixed> $stack */
    private static function container(array $stack, int $kind): Box
    {
        $top = $stack === [] ? null : $stack[count($stack) - 1];
        if (!$top instanceof Box || $top->kind !== $kind) {
            throw new ProtocolException('banserver: pickle adds items to a value that is not a ' . ($kind === Box::LIST ? 'list' : 'dict'));
        }
        return $top;
    }

    /** @param array<int, mixed> $items alternating keys and values */
    private static function setItems(Box $dict, array $items): void
    {
        $n = count($items);
        if ($n % 2 !== 0) {
            throw new ProtocolException('banserver: pickle dict items are not pairs');
        }
        for ($i = 0; $i < $n; $i += 2) {
            $k = $items[$i];
            if (is_bool($k)) {
                $k = (int) $k;
            } elseif (!is_int($k) && !is_string($k)) {
                throw new ProtocolException('banserver: pickle dict key is not a string or int');
            }
            $dict->items[$k] = $items[$i + 1];
        }
    }

    /**
     * @param array<int, mixed> $stack
     * @param array<int, mixed> $memo
     */
    private static function put(array $stack, array &$memo, int $i): void
    {
        if ($stack === []) {
            throw new ProtocolException('banserver: pickle memoizes an empty stack');
        }
        if ($i >= self::MAX_STACK) {
            throw new ProtocolException('banserver: pickle memo index too large');
        }
        $memo[$i] = $stack[count($stack) - 1];
    }

    /**
     * @param array<int, mixed> $memo
     *
     * @return mixed
     */
    private static function get(array $memo, int $i)
    {
        if (!array_key_exists($i, $memo)) {
            throw new ProtocolException("banserver: pickle memo $i not set");
        }
        return $memo[$i];
    }

    private static function cls(string $module, string $name): Box
    {
        // Protocol 2 pickles written by Python 3 use Python 2's module names.
        if ($module === '__builtin__' || $module === 'exceptions') {
            $module = 'builtins';
            if ($name === 'unicode') {
                $name = 'str';
            }
        }
        $full = $module . '.' . $name;
        if (!isset(self::CLASSES[$full])) {
            throw new ProtocolException('banserver: pickle names a class not allowed: ' . substr($full, 0, 200));
        }
        return new Box(Box::CLS, [], $full);
    }

    /**
     * @param mixed $cls
     * @param mixed $args
     *
     * @return mixed
     */
    private static function reduce($cls, $args)
    {
        if (!$cls instanceof Box || $cls->kind !== Box::CLS || !$args instanceof Box || $args->kind !== Box::TUPLE) {
            throw new ProtocolException('banserver: pickle REDUCE needs an allowed class and a tuple');
        }
        $what = self::CLASSES[$cls->name];
        if ($what === 3 && $args->items === []) {
            return '';
        }
        if ($what === 4) {
            $a = $args->items;
            if (count($a) !== 2 || !is_string($a[0]) || $a[1] !== 'latin1') {
                throw new ProtocolException('banserver: pickle _codecs.encode other than latin1 bytes');
            }
            return self::latin1($a[0]);
        }
        if ($what === 5) {
            $a = $args->items;
            if ($a === []) {
                return new Box(Box::LIST);
            }
            if (count($a) !== 1 || !$a[0] instanceof Box || $a[0]->kind !== Box::LIST) {
                throw new ProtocolException('banserver: pickle set() of something not a list');
            }
            return new Box(Box::LIST, $a[0]->items);
        }
        if ($what !== 2) {
            // str(x): fail2ban's IPAddr pickles itself as str(address).
            $a = $args->items;
            if ($a === []) {
                return '';
            }
            if (count($a) !== 1 || !is_string($a[0])) {
                throw new ProtocolException('banserver: pickle str() of something not a string');
            }
            return $a[0];
        }
        return new Box(Box::EXC, $args->items, $cls->name);
    }

    /** Turns text of code points up to U+00FF (UTF-8) into one byte each. */
    private static function latin1(string $s): string
    {
        if (preg_match('/[\xC4-\xFF]/', $s)) {
            throw new ProtocolException('banserver: pickle bytes beyond latin1');
        }
        return (string) preg_replace_callback('/[\xC2\xC3][\x80-\xBF]/', static function (array $m): string {
            return chr(((ord($m[0][0]) & 0x1F) << 6) | (ord($m[0][1]) & 0x3F));
        }, $s);
    }

    /**
     * Turns boxes into PHP values. Each box is converted once and shared
     * after, so a pickle that references one list many times costs no more.
     *
     * @param mixed                $v
     * @param array<int, mixed>    $seen converted boxes by object id; false while in progress
     *
     * @return mixed
     */
    private static function unbox($v, int $depth, array &$seen)
    {
        if (!$v instanceof Box) {
            return $v;
        }
        $id = spl_object_id($v);
        if (isset($seen[$id]) || array_key_exists($id, $seen)) {
            if ($seen[$id] === false) {
                throw new ProtocolException('banserver: pickle structure contains itself');
            }
            return $seen[$id];
        }
        if ($depth >= self::MAX_DEPTH) {
            throw new ProtocolException('banserver: pickle nested too deep');
        }
        if ($v->kind === Box::CLS) {
            throw new ProtocolException('banserver: pickle returns a class');
        }
        $seen[$id] = false;
        $out = [];
        foreach ($v->items as $k => $item) {
            $out[$k] = $item instanceof Box ? self::unbox($item, $depth + 1, $seen) : $item;
        }
        if ($v->kind === Box::EXC) {
            $out = new PythonException($v->name, $out);
        }
        $seen[$id] = $out;
        return $out;
    }
}
