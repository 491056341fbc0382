<?php

declare(strict_types=1);

namespace BanServer;

use BanServer\Exception\ConnectionException;
use BanServer\Exception\ProtocolException;
use BanServer\Exception\ServerException;
use BanServer\Pickle\Decoder;
use BanServer\Pickle\Encoder;
use BanServer\Pickle\PythonException;

/**
 * Client talks to banserver (or fail2ban-server) over its Unix socket with
 * fail2ban's protocol: a pickled list of strings ended by <F2B_END_COMMAND>,
 * answered by a pickled (0, result) or (1, exception).
 *
 * One connection is opened on the first call and reused for every call the
 * object makes, so within a PHP request only the first call pays for the
 * connect. A connection the daemon closed (restart, idle timeout) is reopened
 * once and the call retried once.
 *
 * attempt() fails open by default: when the daemon is down or slow it
 * returns 0 after at most about the timeout and reports through the logger
 * (or error_log), so a ban daemon can never break the application. Every
 * other method throws.
 */
final class Client
{
    /** The terminator of every message in both directions. */
    public const END = '<F2B_END_COMMAND>';

    /** Largest reply read before the connection is given up. */
    public const MAX_REPLY = 64 << 20;

    private string $socket;
    private float $timeout;
    /** @var object|null anything with a PSR-3 style warning(string, array) */
    private ?object $logger;
    private bool $strict;

    /** @var resource|null the open connection, kept between calls */
    private $stream;

    /** @var bool the stream's read timeout was cut to a reply's remaining time */
    private bool $shortened = false;

    /**
     * @param string      $socket  path of the daemon's Unix socket
     * @param float       $timeout seconds allowed for the connect and for each reply
     * @param object|null $logger  a Psr\Log\LoggerInterface or any object with
     *                             warning(string $message, array $context); fail-open
     *                             reports go there, else to error_log()
     * @param bool        $strict  true: attempt() throws like the other methods
     */
    public function __construct(string $socket = '/run/ban.sock', float $timeout = 0.25, ?object $logger = null, bool $strict = false)
    {
        if ($logger !== null && !method_exists($logger, 'warning')) {
            throw new \InvalidArgumentException('banserver: logger needs a warning(string, array) method');
        }
        if (!($timeout > 0)) {
            throw new \InvalidArgumentException('banserver: timeout must be positive');
        }
        $this->socket = $socket;
        $this->timeout = $timeout;
        $this->logger = $logger;
        $this->strict = $strict;
    }

    public function __destruct()
    {
        $this->close();
    }

    /**
     * Reports one failure of $ip in $jail (`set JAIL attempt IP MSG...`) and
     * returns what the server answers: the number of failures recorded (one
     * per message, at least one), or 0 when the address is ignored. When the call fails and the client is not strict,
     * returns 0 and logs a warning instead of throwing.
     *
     * @throws Exception\BanServerException only when strict
     */
    public function attempt(string $jail, string $ip, string ...$messages): int
    {
        try {
            return self::int($this->command(['set', $jail, 'attempt', $ip, ...$messages]));
        } catch (Exception\BanServerException $e) {
            if ($this->strict) {
                throw $e;
            }
            $this->warn($e, $jail, $ip);
            return 0;
        }
    }

    /**
     * Bans addresses in a jail at once (`set JAIL banip IP...`); returns the
     * number of new bans.
     */
    public function banIp(string $jail, string ...$ips): int
    {
        return self::int($this->command(['set', $jail, 'banip', ...$ips]));
    }

    /**
     * Lifts bans in a jail (`set JAIL unbanip IP...`); returns the number of
     * bans lifted.
     */
    public function unbanIp(string $jail, string ...$ips): int
    {
        return self::int($this->command(['set', $jail, 'unbanip', ...$ips]));
    }

    /** Tells whether $ip is banned in $jail (`get JAIL banned IP`). */
    public function isBanned(string $jail, string $ip): bool
    {
        $r = $this->command(['get', $jail, 'banned', $ip]);
        return is_array($r) ? (bool) ($r[0] ?? false) : (bool) $r;
    }

    /**
     * Without an address: the banned addresses of every jail, as
     * ['jail' => ['192.0.2.7', ...], ...]. With one: the names of the jails
     * that ban it.
     *
     * @return array<int|string, mixed>
     */
    public function banned(?string $ip = null): array
    {
        if ($ip !== null) {
            $r = $this->command(['banned', $ip]);
            // One list of jail names per address asked about.
            return is_array($r) && isset($r[0]) && is_array($r[0]) ? $r[0] : [];
        }
        $r = $this->command(['banned']);
        $out = [];
        foreach (is_array($r) ? $r : [] as $perJail) {
            if (is_array($perJail)) {
                foreach ($perJail as $jail => $ips) {
                    $out[$jail] = $ips;
                }
            }
        }
        return $out;
    }

    /**
     * The server's status (`status`: number of jails and their list) or a
     * jail's (`status JAIL`), with fail2ban's lists of (name, value) pairs
     * turned into associative arrays at every level:
     * ['Filter' => ['Currently failed' => 0, ...], 'Actions' => [...]].
     *
     * @return array<string, mixed>
     */
    public function status(?string $jail = null): array
    {
        $r = $this->command($jail === null ? ['status'] : ['status', $jail]);
        $r = self::pairs($r);
        return is_array($r) ? $r : [];
    }

    /** Tells whether the daemon answers (`ping` → "pong"). */
    public function ping(): bool
    {
        return $this->command(['ping']) === 'pong';
    }

    /**
     * Sends any fail2ban command and returns the decoded result.
     *
     * @param array<int, mixed> $args the command words, e.g. ['get', 'api', 'maxretry']
     *
     * @return mixed
     *
     * @throws ServerException     the server answered with an exception
     * @throws ProtocolException   the reply was an "ERROR: ..." string or could not be read
     * @throws ConnectionException the daemon could not be reached or did not answer in time
     */
    public function command(array $args)
    {
        $request = Encoder::command($args) . self::END;
        $reused = $this->stream !== null;
        try {
            $reply = $this->roundTrip($request);
        } catch (BrokenConnection $e) {
            // The daemon closed a connection we kept (restart, idle timeout) or
            // died mid-call: one fresh connection, one more try.
            $this->close();
            try {
                $reply = $this->roundTrip($request);
            } catch (BrokenConnection $e2) {
                $this->close();
                throw new ConnectionException('banserver: ' . $e2->getMessage() . ($reused ? ' (after reconnecting)' : ''), 0, $e2);
            }
        }
        return self::result(Decoder::decode($reply));
    }

    /** Closes the connection; the next call opens a new one. */
    public function close(): void
    {
        if ($this->stream !== null) {
            @fclose($this->stream);
            $this->stream = null;
        }
    }

    /**
     * Sends one request and reads its reply on the kept connection, opening it
     * first when needed.
     *
     * @throws BrokenConnection    the connection broke (EOF, broken pipe): worth one retry
     * @throws ConnectionException connect failure or timeout: not worth a retry
     */
    private function roundTrip(string $request): string
    {
        if ($this->stream === null) {
            $this->connect();
        }
        $s = $this->stream;
        if ($this->shortened) {
            $this->setTimeout($this->timeout);
        }
        $len = strlen($request);
        for ($off = 0; $off < $len; $off += $n) {
            $n = @fwrite($s, $off === 0 ? $request : substr($request, $off));
            if ($n === false || $n === 0) {
                if (stream_get_meta_data($s)['timed_out']) {
                    $this->close();
                    throw new ConnectionException('banserver: timed out writing to ' . $this->socket);
                }
                throw new BrokenConnection('connection to ' . $this->socket . ' broken while writing');
            }
        }
        $buf = '';
        $deadline = microtime(true) + $this->timeout;
        while (true) {
            $chunk = @fread($s, 65536);
            if ($chunk === false || $chunk === '') {
                $meta = stream_get_meta_data($s);
                if ($meta['timed_out'] || microtime(true) >= $deadline) {
                    $this->close();
                    throw new ConnectionException(sprintf('banserver: no reply from %s within %.3fs', $this->socket, $this->timeout));
                }
                if ($meta['eof'] || $chunk === false) {
                    if ($buf !== '') {
                        // Half a reply: the request may have been acted on; not retried.
                        $this->close();
                        throw new ConnectionException('banserver: connection to ' . $this->socket . ' closed mid-reply');
                    }
                    throw new BrokenConnection('connection to ' . $this->socket . ' closed before replying');
                }
                continue;
            }
            $buf .= $chunk;
            if (strlen($buf) >= 17 && substr_compare($buf, self::END, -17) === 0) {
                return substr($buf, 0, -17);
            }
            if (strlen($buf) > self::MAX_REPLY) {
                $this->close();
                throw new ProtocolException('banserver: reply larger than ' . self::MAX_REPLY . ' bytes');
            }
            // Each read waits up to the full timeout; bound the whole reply too.
            $left = $deadline - microtime(true);
            if ($left <= 0) {
                $this->close();
                throw new ConnectionException(sprintf('banserver: no reply from %s within %.3fs', $this->socket, $this->timeout));
            }
            $this->setTimeout($left);
        }
    }

    private function connect(): void
    {
        $errno = 0;
        $errstr = '';
        $s = @stream_socket_client('unix://' . $this->socket, $errno, $errstr, $this->timeout);
        if ($s === false) {
            throw new ConnectionException(sprintf('banserver: cannot connect to %s: %s', $this->socket, $errstr !== '' ? $errstr : "error $errno"));
        }
        $this->stream = $s;
        $this->setTimeout($this->timeout);
    }

    private function setTimeout(float $t): void
    {
        $secs = (int) $t;
        stream_set_timeout($this->stream, $secs, max(1, (int) (($t - $secs) * 1e6)));
        $this->shortened = $t !== $this->timeout;
    }

    /**
     * Unwraps (0, result) and turns (1, exception) and "ERROR: ..." into
     * exceptions.
     *
     * @param mixed $r
     *
     * @return mixed
     */
    private static function result($r)
    {
        if (is_array($r) && count($r) === 2 && array_key_exists(0, $r) && array_key_exists(1, $r)) {
            if ($r[0] === 0) {
                return $r[1];
            }
            if ($r[0] === 1) {
                $e = $r[1];
                if ($e instanceof PythonException) {
                    throw ServerException::fromPython($e->class, $e->args);
                }
                throw new ServerException('builtins.Exception', [is_scalar($e) ? (string) $e : json_encode($e)]);
            }
        }
        if (is_string($r)) {
            // fail2ban answers a message it could not load with a bare string.
            throw new ProtocolException('banserver: server replied ' . $r);
        }
        throw new ProtocolException('banserver: reply is not (code, value)');
    }

    /** @param mixed $v */
    private static function int($v): int
    {
        if (is_int($v)) {
            return $v;
        }
        if (is_bool($v) || is_float($v) || (is_string($v) && is_numeric($v))) {
            return (int) $v;
        }
        if (is_array($v)) {
            // banip/unbanip with several addresses may answer a list.
            return count($v);
        }
        return 0;
    }

    /**
     * Turns a list of (string, value) pairs into an associative array,
     * recursively; anything else is returned as is.
     *
     * @param mixed $v
     *
     * @return mixed
     */
    private static function pairs($v)
    {
        if (!is_array($v) || $v === []) {
            return $v;
        }
        $out = [];
        foreach ($v as $item) {
            if (!is_array($item) || count($item) !== 2 || !isset($item[0]) || !is_string($item[0]) || !array_key_exists(1, $item)) {
                return $v;
            }
            $out[$item[0]] = self::pairs($item[1]);
        }
        return $out;
    }

    private function warn(\Throwable $e, string $jail, string $ip): void
    {
        $msg = 'banserver: attempt not reported (failing open): ' . $e->getMessage();
        if ($this->logger !== null) {
            $this->logger->warning($msg, ['exception' => $e, 'jail' => $jail, 'ip' => $ip, 'socket' => $this->socket]);
            return;
        }
        error_log($msg . " [jail $jail, ip $ip]");
    }
}
