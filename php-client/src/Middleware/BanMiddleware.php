<?php

declare(strict_types=1);

namespace BanServer\Middleware;

use BanServer\Client;
use BanServer\ClientIp;
use BanServer\Exception\BanServerException;
use Psr\Http\Message\ResponseFactoryInterface;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Server\MiddlewareInterface;
use Psr\Http\Server\RequestHandlerInterface;

/**
 * BanMiddleware enforces bans in PHP, for when the kernel of the web server
 * cannot: behind a load balancer or a CDN it sees only the proxy's address,
 * so a route for a banned client stops nobody.
 *
 * Per request it derives the client address with ClientIp (the peer, or what
 * trusted proxies say), asks the daemon once whether that address is banned
 * (one socket round trip), answers a banned one with 403 (or the status you
 * choose) before the application runs, and otherwise passes the request on
 * with a Reporter in the attribute self::ATTRIBUTE, through which the
 * application reports a failure of that request.
 *
 * It fails open: when the daemon is down, slow (the Client's timeout) or
 * refuses the question, the request goes through and a warning goes to the
 * logger (or error_log).
 *
 * The daemon's access rules must let the web user ask: `classes: [read,
 * report]` on the jail (or on "*" when $checkJails names other jails).
 */
final class BanMiddleware implements MiddlewareInterface
{
    /** The request attribute holding the Reporter. */
    public const ATTRIBUTE = Reporter::class;

    private Client $client;
    private string $jail;
    private ResponseFactoryInterface $responseFactory;
    private ClientIp $clientIp;
    private int $status;
    /** @var object|null anything with a PSR-3 style warning(string, array) */
    private ?object $logger;
    /** @var array<int, string> */
    private array $checkJails;

    /**
     * @param Client                   $client          the daemon; share it with the rest of the
     *                                                  request so one connection serves all calls
     * @param string                   $jail            the jail failures are reported to, and the one
     *                                                  checked unless $checkJails says otherwise
     * @param ResponseFactoryInterface $responseFactory makes the response to a banned client
     * @param ClientIp|null            $clientIp        your trusted proxies and their header; null: none,
     *                                                  the peer address is the client
     * @param int                      $status          status answered to a banned client (403)
     * @param object|null              $logger          a Psr\Log\LoggerInterface or any object with
     *                                                  warning(string, array): fail-open reports
     * @param array<int, string>       $checkJails      [] checks $jail alone (`get JAIL banned IP`);
     *                                                  ['*'] any jail, a list any of those
     *                                                  (`banned IP`, still one round trip)
     */
    public function __construct(
        Client $client,
        string $jail,
        ResponseFactoryInterface $responseFactory,
        ?ClientIp $clientIp = null,
        int $status = 403,
        ?object $logger = null,
        array $checkJails = []
    ) {
        if ($status < 400 || $status > 599) {
            throw new \InvalidArgumentException("banserver: status for a banned client must be 4xx or 5xx, not $status");
        }
        if ($logger !== null && !method_exists($logger, 'warning')) {
            throw new \InvalidArgumentException('banserver: logger needs a warning(string, array) method');
        }
        foreach ($checkJails as $j) {
            if (!is_string($j) || $j === '') {
                throw new \InvalidArgumentException('banserver: checkJails must list jail names or "*"');
            }
        }
        $this->client = $client;
        $this->jail = $jail;
        $this->responseFactory = $responseFactory;
        $this->clientIp = $clientIp ?? new ClientIp();
        $this->status = $status;
        $this->logger = $logger;
        $this->checkJails = array_values($checkJails);
    }

    public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface
    {
        $server = $request->getServerParams();
        $ip = $this->clientIp->resolve((string) ($server['REMOTE_ADDR'] ?? ''), $this->forwarded($request, $server));
        if ($ip !== '0.0.0.0' && $this->banned($ip)) {
            $response = $this->responseFactory->createResponse($this->status);
            $response->getBody()->write($response->getReasonPhrase() . "\n");
            return $response->withHeader('Content-Type', 'text/plain; charset=utf-8');
        }
        return $handler->handle($request->withAttribute(self::ATTRIBUTE, new Reporter($this->client, $this->jail, $ip)));
    }

    /**
     * The proxies' header from the request, else from the server parameters
     * (HTTP_X_FORWARDED_FOR) where a request was built without headers.
     *
     * @param array<string, mixed> $server
     */
    private function forwarded(ServerRequestInterface $request, array $server): string
    {
        $name = $this->clientIp->header();
        $value = $request->getHeaderLine($name);
        if ($value !== '') {
            return $value;
        }
        $v = $server[$name === ClientIp::FORWARDED ? 'HTTP_FORWARDED' : 'HTTP_X_FORWARDED_FOR'] ?? '';
        return is_string($v) ? $v : '';
    }

    /** Asks the daemon, in one command; false (and a warning) when it cannot answer. */
    private function banned(string $ip): bool
    {
        try {
            if ($this->checkJails === []) {
                return $this->client->isBanned($this->jail, $ip);
            }
            $jails = $this->client->banned($ip);
            if (in_array('*', $this->checkJails, true)) {
                return $jails !== [];
            }
            return array_intersect($jails, $this->checkJails) !== [];
        } catch (BanServerException $e) {
            $msg = 'banserver: ban check failed, request let through (failing open): ' . $e->getMessage();
            if ($this->logger !== null) {
                $this->logger->warning($msg, ['exception' => $e, 'jail' => $this->jail, 'ip' => $ip]);
            } else {
                error_log($msg . " [jail {$this->jail}, ip $ip]");
            }
            return false;
        }
    }
}
