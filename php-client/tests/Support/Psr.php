<?php

declare(strict_types=1);

// PSR-7/PSR-17/PSR-15 for the middleware's tests and bench, from Debian
// packages (no Composer install here):
// - php-nyholm-psr7: a PSR-7 implementation and PSR-17 factory; its autoloader
//   (on the include path, /usr/share/php) also loads php-psr-http-message and
//   php-psr-http-factory, the PSR-7 and PSR-17 interfaces;
// - PSR-15's two interfaces: from the psr extension (Debian's php-psr, which
//   declares PSR-7, PSR-15 and PSR-17 itself) when it is loaded, or from a
//   Composer install (psr/http-server-middleware). Debian 12 packages no
//   userland PSR-15, and php-psr cannot be installed together with Debian's
//   composer (php-symfony-service-contracts Breaks php-psr), so without
//   either, psr15.php below declares them as PSR-15 defines them.
if (stream_resolve_include_path('Nyholm/Psr7/autoload.php') !== false) {
    require_once 'Nyholm/Psr7/autoload.php';
}
if (!interface_exists(\Psr\Http\Server\MiddlewareInterface::class)) {
    require_once __DIR__ . '/psr15.php';
}
