<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The daemon could not be reached or did not answer in time: no socket,
 * refused, broken connection, or a read timeout.
 */
class ConnectionException extends BanServerException
{
}
