<?php

declare(strict_types=1);

// A PSR-4 autoloader for projects without Composer: require this file once and
// every BanServer\ class loads from src/. With Composer, its own autoloader
// (composer.json "autoload") does the same and this file is not needed.
spl_autoload_register(static function (string $class): void {
    $prefix = 'BanServer\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
