<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The reply could not be understood: the server's bare "ERROR: ..." string
 * (it could not load the request), a malformed or oversized pickle, or a
 * class outside the decoder's allow-list.
 */
class ProtocolException extends BanServerException
{
}
