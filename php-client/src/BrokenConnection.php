<?php

declare(strict_types=1);

namespace BanServer;

/**
 * BrokenConnection tells Client's retry loop that a kept connection broke
 * before any reply byte arrived, so the call is worth one more try on a new
 * connection. It never leaves the Client.
 *
 * @internal
 */
final class BrokenConnection extends \RuntimeException
{
}
