<?php

declare(strict_types=1);

namespace BanServer\Tests;

require_once __DIR__ . '/Support/bootstrap.php';

use BanServer\Pickle\Encoder;
use BanServer\Tests\Support\Env;
use PHPUnit\Framework\TestCase;

/** Requests as Python's own pickle loads them. */
final class EncoderTest extends TestCase
{
    /** @return array<string, array{0: array<int, mixed>, 1: string}> */
    public function commands(): array
    {
        return [
            'attempt' => [['set', 'api', 'attempt', '192.0.2.7', 'Incorrect token used.'], "['set', 'api', 'attempt', '192.0.2.7', 'Incorrect token used.']"],
            'one word' => [['ping'], "['ping']"],
            'empty' => [[], '[]'],
            'utf8 and empty string' => [['echo', 'héllo ☃', ''], "['echo', 'héllo ☃', '']"],
            'invalid utf8 scrubbed' => [['echo', "a\xffb"], "['echo', 'a\u{FFFD}b']"],
            'ints' => [[0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2147483648, PHP_INT_MAX, PHP_INT_MIN], '[0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2147483648, 9223372036854775807, -9223372036854775808]'],
            'float bool null nested' => [[1.5, true, false, null, ['a', []]], "[1.5, True, False, None, ['a', []]]"],
            'long string' => [[str_repeat('x', 70000)], "['" . str_repeat('x', 70000) . "']"],
        ];
    }

    /**
     * @dataProvider commands
     *
     * @param array<int, mixed> $args
     */
    public function testPythonLoads(array $args, string $repr): void
    {
        $python = Env::which('python3');
        if ($python === null) {
            Env::skipOrFail($this, 'python3 not installed');
        }
        $p = Encoder::command($args);
        $this->assertSame("\x80\x02", substr($p, 0, 2));
        $proc = proc_open([$python, '-c', 'import pickle,sys; sys.stdout.write(repr(pickle.loads(sys.stdin.buffer.read())))'], [0 => ['pipe', 'r'], 1 => ['pipe', 'w']], $pipes);
        fwrite($pipes[0], $p);
        fclose($pipes[0]);
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        $this->assertSame(0, proc_close($proc));
        $this->assertSame($repr, $out);
    }
}
