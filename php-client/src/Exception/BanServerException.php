<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The base of every exception the library throws, so a caller can catch
 * them all in one clause.
 */
class BanServerException extends \RuntimeException
{
}
