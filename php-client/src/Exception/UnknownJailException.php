<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The server raised fail2ban.exceptions.UnknownJailException: the jail named in the command does not exist.
 */
class UnknownJailException extends ServerException
{
}
