<?php

declare(strict_types=1);

namespace BanServer\Middleware;

use BanServer\Client;

/**
 * Reporter is what BanMiddleware hands the application, as the request
 * attribute BanMiddleware::ATTRIBUTE: a failure reporter bound to the
 * request's client address and the middleware's jail, so the application
 * says what went wrong and nothing about who or where.
 *
 *     $request->getAttribute(BanMiddleware::ATTRIBUTE)->fail('Incorrect token used.');
 *
 * It shares the middleware's Client, so a report reuses the connection the
 * ban check opened.
 */
final class Reporter
{
    private Client $client;
    private string $jail;
    private string $ip;

    public function __construct(Client $client, string $jail, string $ip)
    {
        $this->client = $client;
        $this->jail = $jail;
        $this->ip = $ip;
    }

    /**
     * Reports one failure of this request's client (`set JAIL attempt IP
     * MSG...`) and returns the daemon's answer: the number of failures
     * recorded (one per message, at least one), or 0 when the address is
     * ignored. As Client::attempt(), it fails open (returns 0 and logs)
     * unless the Client is strict. A request without a usable
     * client address ("0.0.0.0", as under the CLI) reports nothing.
     */
    public function fail(string ...$messages): int
    {
        if ($this->ip === '0.0.0.0') {
            return 0;
        }
        return $this->client->attempt($this->jail, $this->ip, ...$messages);
    }

    /** The client address the middleware derived (and checked). */
    public function ip(): string
    {
        return $this->ip;
    }

    /** The jail failures are reported to. */
    public function jail(): string
    {
        return $this->jail;
    }
}
