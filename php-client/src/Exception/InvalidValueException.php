<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The server raised builtins.ValueError: an argument was refused, e.g. an invalid address or time.
 */
class InvalidValueException extends ServerException
{
}
