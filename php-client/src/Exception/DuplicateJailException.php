<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The server raised fail2ban.exceptions.DuplicateJailException: `add` named a jail that already exists.
 */
class DuplicateJailException extends ServerException
{
}
