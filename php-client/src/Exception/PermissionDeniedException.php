<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The server raised builtins.PermissionError: the socket's access rules refuse this command to the calling user (see banserver's "Who may say what").
 */
class PermissionDeniedException extends ServerException
{
}
