<?php

declare(strict_types=1);

// Test helpers live outside the package's src/; each test file requires this.
require_once __DIR__ . '/Env.php';
require_once __DIR__ . '/Daemon.php';
require_once __DIR__ . '/Logger.php';
require_once __DIR__ . '/Psr.php';
