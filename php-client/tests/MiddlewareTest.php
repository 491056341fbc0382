<?php

declare(strict_types=1);

namespace BanServer\Tests;

require_once __DIR__ . '/Support/bootstrap.php';

use BanServer\Client;
use BanServer\ClientIp;
use BanServer\Exception\ConnectionException;
use BanServer\Exception\UnknownJailException;
use BanServer\Middleware\BanMiddleware;
use BanServer\Middleware\Reporter;
use BanServer\Tests\Support\Daemon;
use BanServer\Tests\Support\Env;
use BanServer\Tests\Support\Logger;
use Nyholm\Psr7\Factory\Psr17Factory;
use Nyholm\Psr7\ServerRequest;
use PHPUnit\Framework\TestCase;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Server\RequestHandlerInterface;

/**
 * BanMiddleware against a real banserver (jail api: maxretry 10), with
 * Nyholm's PSR-7 messages: a banned client gets 403 before the application
 * runs, others pass, failures reported through the request ban, and a dead
 * daemon lets everything through.
 */
final class MiddlewareTest extends TestCase
{
    /** The load balancer in front of the web server. */
    private const PROXY = '10.0.0.1';
    private const TRUSTED = ['10.0.0.0/8', '2001:db8:ffff::/48'];

    private Daemon $daemon;
    private Psr17Factory $factory;
    /** @var RequestHandlerInterface&object{calls: int, reporter: ?Reporter} */
    private RequestHandlerInterface $app;

    protected function setUp(): void
    {
        if (!class_exists(Psr17Factory::class)) {
            Env::skipOrFail($this, 'no PSR-7 implementation: Debian package php-nyholm-psr7');
        }
        $this->daemon = Daemon::start($this);
        $this->factory = new Psr17Factory();
        $this->app = self::app($this->factory);
    }

    protected function tearDown(): void
    {
        if (isset($this->daemon)) {
            $this->daemon->stop();
        }
    }

    /**
     * The application: a token check that reports a wrong token through the
     * middleware's Reporter and answers 401, else 200; it counts its calls.
     */
    private static function app(Psr17Factory $factory): RequestHandlerInterface
    {
        return new class ($factory) implements RequestHandlerInterface {
            public int $calls = 0;
            public ?Reporter $reporter = null;
            /** @var array<int, int> what each fail() returned */
            public array $counts = [];
            private Psr17Factory $factory;

            public function __construct(Psr17Factory $factory)
            {
                $this->factory = $factory;
            }

            public function handle(ServerRequestInterface $request): ResponseInterface
            {
                $this->calls++;
                $this->reporter = $request->getAttribute(BanMiddleware::ATTRIBUTE);
                if ($request->getHeaderLine('Authorization') !== 'Bearer secret') {
                    $this->counts[] = $this->reporter->fail('Incorrect token used.');
                    return $this->factory->createResponse(401);
                }
                return $this->factory->createResponse(200);
            }
        };
    }

    /** A request reaching the web server from $peer, with X-Forwarded-For $xff when not null. */
    private static function request(string $peer, ?string $xff = null, string $token = 'secret'): ServerRequestInterface
    {
        $headers = ['Authorization' => 'Bearer ' . $token];
        if ($xff !== null) {
            $headers['X-Forwarded-For'] = $xff;
        }
        return new ServerRequest('POST', 'https://api.example/login', $headers, null, '1.1', ['REMOTE_ADDR' => $peer]);
    }

    private function middleware(?Logger $log = null, string $jail = 'api', array $checkJails = [], int $status = 403, ?string $socket = null): BanMiddleware
    {
        return new BanMiddleware(
            new Client($socket ?? $this->daemon->socket, 0.25, $log),
            $jail,
            $this->factory,
            new ClientIp(self::TRUSTED),
            $status,
            $log,
            $checkJails
        );
    }

    private function admin(): Client
    {
        return new Client($this->daemon->socket, 1.0, null, true);
    }

    /** @return array<string, array{name: string, peer: string, xff: ?string, want: int}> */
    public function banCases(): array
    {
        $c = [
            ['name' => 'banned client behind the proxy', 'peer' => self::PROXY, 'xff' => '203.0.113.50', 'want' => 403],
            ['name' => 'other client behind the proxy', 'peer' => self::PROXY, 'xff' => '203.0.113.51', 'want' => 200],
            ['name' => 'banned client behind two proxies', 'peer' => self::PROXY, 'xff' => '203.0.113.50, 10.9.9.9', 'want' => 403],
            ['name' => 'banned client forging a left entry', 'peer' => self::PROXY, 'xff' => '198.51.100.77, 203.0.113.50', 'want' => 403],
            ['name' => 'client forging a banned left entry', 'peer' => self::PROXY, 'xff' => '203.0.113.50, 203.0.113.51', 'want' => 200],
            ['name' => 'banned client connecting directly', 'peer' => '203.0.113.50', 'xff' => null, 'want' => 403],
            ['name' => 'banned client direct, header of another', 'peer' => '203.0.113.50', 'xff' => '203.0.113.51', 'want' => 403],
            ['name' => 'untrusted peer naming a banned address', 'peer' => '198.51.100.9', 'xff' => '203.0.113.50', 'want' => 200],
            ['name' => 'banned IPv6 client', 'peer' => '2001:db8:ffff::1', 'xff' => '[2001:db8:1::50]:4711', 'want' => 403],
            ['name' => 'banned address as mapped IPv4 peer', 'peer' => '::ffff:203.0.113.50', 'xff' => null, 'want' => 403],
        ];
        $out = [];
        foreach ($c as $case) {
            $out[$case['name']] = $case;
        }
        return $out;
    }

    /** @dataProvider banCases */
    public function testBannedGets403OthersPass(string $name, string $peer, ?string $xff, int $want): void
    {
        $this->assertSame(2, $this->admin()->banIp('api', '203.0.113.50', '2001:db8:1::50'));
        $r = $this->middleware()->process(self::request($peer, $xff), $this->app);
        $this->assertSame($want, $r->getStatusCode(), $name);
        $this->assertSame($want === 403 ? 0 : 1, $this->app->calls, "$name: application run");
        if ($want === 403) {
            $this->assertSame("Forbidden\n", (string) $r->getBody());
        }
    }

    public function testReporterCarriesTheClientAddress(): void
    {
        $this->middleware()->process(self::request(self::PROXY, '192.0.2.1, 203.0.113.9'), $this->app);
        $this->assertInstanceOf(Reporter::class, $this->app->reporter);
        $this->assertSame('203.0.113.9', $this->app->reporter->ip());
        $this->assertSame('api', $this->app->reporter->jail());
    }

    public function testStatusIsConfigurable(): void
    {
        $this->admin()->banIp('api', '203.0.113.50');
        $r = $this->middleware(null, 'api', [], 429)->process(self::request('203.0.113.50'), $this->app);
        $this->assertSame(429, $r->getStatusCode());
        $this->assertSame(0, $this->app->calls);
        $this->expectException(\InvalidArgumentException::class);
        $this->middleware(null, 'api', [], 200);
    }

    public function testFailuresReportedThroughItBanAfterMaxretry(): void
    {
        $mw = $this->middleware();
        // maxretry is 10: nine wrong tokens leave the client in, the tenth bans it.
        for ($i = 1; $i <= 10; $i++) {
            $r = $mw->process(self::request(self::PROXY, '203.0.113.60', 'wrong'), $this->app);
            $this->assertSame(401, $r->getStatusCode(), "wrong token $i");
        }
        $this->assertSame(array_fill(0, 10, 1), $this->app->counts, 'failures the daemon recorded per report');
        $this->assertTrue($this->admin()->isBanned('api', '203.0.113.60'));

        // The eleventh request, even with the right token, never reaches the application.
        $r = $mw->process(self::request(self::PROXY, '203.0.113.60'), $this->app);
        $this->assertSame(403, $r->getStatusCode());
        $this->assertSame(10, $this->app->calls);
        // Another client behind the same proxy carries on, and a new
        // middleware (the next PHP-FPM request) sees the ban as well.
        $this->assertSame(200, $this->middleware()->process(self::request(self::PROXY, '203.0.113.61'), $this->app)->getStatusCode());
        $this->assertSame(403, $this->middleware()->process(self::request(self::PROXY, '203.0.113.60'), $this->app)->getStatusCode());
        // The proxy itself was never reported.
        $this->assertFalse($this->admin()->isBanned('api', self::PROXY));
    }

    public function testDeadDaemonLetsRequestsThrough(): void
    {
        $this->admin()->banIp('api', '203.0.113.50');
        $log = new Logger();
        $mw = $this->middleware($log);
        $this->assertSame(403, $mw->process(self::request('203.0.113.50'), $this->app)->getStatusCode());
        $this->daemon->stop();

        $this->assertSame(200, $mw->process(self::request('203.0.113.50'), $this->app)->getStatusCode(), 'banned address, daemon down');
        $this->assertSame(401, $mw->process(self::request('203.0.113.50', null, 'wrong'), $this->app)->getStatusCode(), 'report, daemon down');
        $this->assertSame([0], $this->app->counts, 'fail() returns 0 when the daemon is down');
        $this->assertSame(2, $this->app->calls);
        // One warning for each check, one for the report (from the Client).
        $this->assertCount(3, $log->warnings);
        $this->assertStringContainsString('failing open', $log->warnings[0][0]);
        $this->assertInstanceOf(ConnectionException::class, $log->warnings[0][1]['exception']);
        $this->assertSame('203.0.113.50', $log->warnings[0][1]['ip']);

        // A socket that never existed: the same.
        $log = new Logger();
        $mw = $this->middleware($log, 'api', [], 403, $this->daemon->socket . '.absent');
        $this->assertSame(200, $mw->process(self::request(self::PROXY, '203.0.113.50'), $this->app)->getStatusCode());
        $this->assertCount(1, $log->warnings);
    }

    public function testRefusedQuestionFailsOpen(): void
    {
        $log = new Logger();
        $r = $this->middleware($log, 'nojail')->process(self::request('203.0.113.50'), $this->app);
        $this->assertSame(200, $r->getStatusCode());
        $this->assertCount(1, $log->warnings);
        $this->assertInstanceOf(UnknownJailException::class, $log->warnings[0][1]['exception']);
    }

    /** @return array<string, array{0: array<int, string>, 1: int}> */
    public function jailScopes(): array
    {
        return [
            'default: its own jail only' => [[], 200],
            'its own jail, listed' => [['api'], 200],
            'the other jail' => [['web'], 403],
            'any jail' => [['*'], 403],
            'a jail that does not exist' => [['nojail'], 200],
        ];
    }

    /**
     * @dataProvider jailScopes
     *
     * @param array<int, string> $checkJails
     */
    public function testCheckJails(array $checkJails, int $want): void
    {
        $admin = $this->admin();
        $admin->command(['add', 'web']);
        $admin->command(['start', 'web']);
        $this->assertSame(1, $admin->banIp('web', '203.0.113.70'));
        $log = new Logger();
        $r = $this->middleware($log, 'api', $checkJails)->process(self::request('203.0.113.70'), $this->app);
        $this->assertSame($want, $r->getStatusCode());
        $this->assertSame([], $log->warnings);
    }

    public function testNoClientAddressPassesUnchecked(): void
    {
        $log = new Logger();
        $request = new ServerRequest('GET', '/', ['Authorization' => 'Bearer wrong']);
        $this->assertSame(401, $this->middleware($log)->process($request, $this->app)->getStatusCode());
        $this->assertSame('0.0.0.0', $this->app->reporter->ip());
        $this->assertSame([0], $this->app->counts, 'nothing reported for 0.0.0.0');
        $this->assertSame([], $log->warnings);
    }

    public function testForwardedHeader(): void
    {
        $this->admin()->banIp('api', '203.0.113.50');
        $mw = new BanMiddleware(new Client($this->daemon->socket), 'api', $this->factory, new ClientIp(self::TRUSTED, ClientIp::FORWARDED));
        $req = static function (string $fwd): ServerRequestInterface {
            $h = ['Forwarded' => $fwd, 'X-Forwarded-For' => '203.0.113.51', 'Authorization' => 'Bearer secret'];
            return new ServerRequest('GET', '/', $h, null, '1.1', ['REMOTE_ADDR' => self::PROXY]);
        };
        $this->assertSame(403, $mw->process($req('for=203.0.113.50;proto=https'), $this->app)->getStatusCode());
        $this->assertSame(200, $mw->process($req('for=203.0.113.50, for=203.0.113.51'), $this->app)->getStatusCode());
        $this->assertSame(403, $mw->process($req('for="203.0.113.51, for=203.0.113.50'), $this->app)->getStatusCode(), 'unclosed quote');
        // From server parameters when the request carries no such header.
        $r = new ServerRequest('GET', '/', [], null, '1.1', ['REMOTE_ADDR' => self::PROXY, 'HTTP_FORWARDED' => 'for=203.0.113.50']);
        $this->assertSame(403, $mw->process($r, $this->app)->getStatusCode());
        $r = new ServerRequest('GET', '/', [], null, '1.1', ['REMOTE_ADDR' => self::PROXY, 'HTTP_FORWARDED' => 'for=203.0.113.52']);
        $this->assertSame(401, $mw->process($r, $this->app)->getStatusCode(), 'passed, no token');
        $this->assertSame('203.0.113.52', $this->app->reporter->ip());
    }
}
