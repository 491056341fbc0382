<?php

declare(strict_types=1);

// Microseconds per request with and without BanMiddleware against a running
// daemon, run by hand (needs php-nyholm-psr7 for the PSR-7 messages):
//   bin/banserver --socket /tmp/ban.sock --db none &
//   php php-client/bench/middleware.php /tmp/ban.sock [requests]
// Each request is built (Nyholm ServerRequest from a trusted proxy with
// X-Forwarded-For) and handled by an application that answers 200 at once,
// so the differences are the middleware's whole cost: ClientIp, one
// `get api banned IP` round trip, the Reporter attribute.
// "kept connection": one Client for all requests (a long-running worker, or
// a PHP-FPM request that also reports); "new connection": a new Client per
// request (what a PHP-FPM request pays when the check is its only call);
// "banned client": the 403 path; "daemon down": fail-open on a missing socket.
// Addresses come from 203.0.113.0/24 and 198.51.100.0/24; the one ban the
// bench makes is lifted at the end.

require __DIR__ . '/../autoload.php';
require __DIR__ . '/../tests/Support/Psr.php';

use BanServer\Client;
use BanServer\ClientIp;
use BanServer\Middleware\BanMiddleware;
use Nyholm\Psr7\Factory\Psr17Factory;
use Nyholm\Psr7\ServerRequest;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Server\RequestHandlerInterface;

if (!class_exists(Psr17Factory::class)) {
    fwrite(STDERR, "needs a PSR-7 implementation: apt-get install php-nyholm-psr7\n");
    exit(1);
}

$socket = $argv[1] ?? '/run/ban.sock';
$requests = (int) ($argv[2] ?? 20000);
$jail = $argv[3] ?? 'api';

$ips = [];
foreach (['203.0.113.', '198.51.100.'] as $net) {
    for ($i = 1; $i < 255; $i++) {
        $ips[] = $net . $i;
    }
}
$factory = new Psr17Factory();
$app = new class ($factory) implements RequestHandlerInterface {
    private Psr17Factory $factory;

    public function __construct(Psr17Factory $factory)
    {
        $this->factory = $factory;
    }

    public function handle(ServerRequestInterface $request): ResponseInterface
    {
        return $this->factory->createResponse(200);
    }
};
$proxies = new ClientIp(['10.0.0.0/8']);
$request = static function (string $ip): ServerRequestInterface {
    return new ServerRequest('GET', '/api', ['X-Forwarded-For' => $ip], null, '1.1', ['REMOTE_ADDR' => '10.0.0.1']);
};
$quiet = new class () {
    /** @param array<string, mixed> $context */
    public function warning(string $message, array $context = []): void
    {
    }
};

/** Runs $one $n times; returns µs per call. */
function run(string $name, int $n, callable $one, ?float $base = null): float
{
    $t = hrtime(true);
    for ($i = 0; $i < $n; $i++) {
        $one($i);
    }
    $us = (hrtime(true) - $t) / $n / 1000;
    printf("%-30s %7d requests  %7.1f µs/request%s\n", $name, $n, $us, $base === null ? '' : sprintf('  (+%.1f µs)', $us - $base));
    return $us;
}

$admin = new Client($socket, 1.0, null, true);
$admin->ping(); // fail loudly here if no daemon answers

$base = run('application alone', $requests, static function (int $i) use ($app, $request, $ips): void {
    $app->handle($request($ips[$i % count($ips)]));
});
$mw = new BanMiddleware(new Client($socket, 0.25, null, true), $jail, $factory, $proxies);
run('middleware, kept connection', $requests, static function (int $i) use ($mw, $app, $request, $ips): void {
    $mw->process($request($ips[$i % count($ips)]), $app);
}, $base);
run('middleware, new connection', $requests, static function (int $i) use ($socket, $jail, $factory, $proxies, $app, $request, $ips): void {
    (new BanMiddleware(new Client($socket, 0.25, null, true), $jail, $factory, $proxies))->process($request($ips[$i % count($ips)]), $app);
}, $base);
$admin->banIp($jail, '192.0.2.99');
run('middleware, banned client', $requests, static function (int $i) use ($mw, $app, $request): void {
    if ($mw->process($request('192.0.2.99'), $app)->getStatusCode() !== 403) {
        throw new RuntimeException('banned client not refused');
    }
}, $base);
$admin->unbanIp($jail, '192.0.2.99');
$down = new BanMiddleware(new Client($socket . '.absent', 0.25, $quiet), $jail, $factory, $proxies, 403, $quiet);
run('middleware, daemon down', $requests, static function (int $i) use ($down, $app, $request, $ips): void {
    $down->process($request($ips[$i % count($ips)]), $app);
}, $base);
