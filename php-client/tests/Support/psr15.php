<?php

declare(strict_types=1);

// The two interfaces of PSR-15 (https://www.php-fig.org/psr/psr-15/), for
// tests run where neither the psr extension nor psr/http-server-middleware is
// installed; Psr.php loads this file only then. Signatures as the standard
// fixes them, so a class that implements these implements the real ones.

namespace Psr\Http\Server;

use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;

/** Turns a request into a response: the application, or the rest of the stack. */
interface RequestHandlerInterface
{
    public function handle(ServerRequestInterface $request): ResponseInterface;
}

/** Takes part in handling a request: answers itself or delegates to $handler. */
interface MiddlewareInterface
{
    public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface;
}
