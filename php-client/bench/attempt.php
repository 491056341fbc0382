<?php

declare(strict_types=1);

// Microseconds per attempt() against a running daemon, run by hand:
//   bin/banserver --socket /tmp/ban.sock --db none &
//   php php-client/bench/attempt.php /tmp/ban.sock [calls]
// "reused": one Client for all calls (one connection per PHP request);
// "new connection": a new Client per call (what a request making one call
// pays). Addresses come from 203.0.113.0/24 and 198.51.100.0/24.

require __DIR__ . '/../autoload.php';

use BanServer\Client;

$socket = $argv[1] ?? '/run/ban.sock';
$calls = (int) ($argv[2] ?? 20000);
$jail = $argv[3] ?? 'api';

$ips = [];
foreach (['203.0.113.', '198.51.100.'] as $net) {
    for ($i = 1; $i < 255; $i++) {
        $ips[] = $net . $i;
    }
}

function run(string $name, int $calls, callable $one): void
{
    $t = hrtime(true);
    for ($i = 0; $i < $calls; $i++) {
        $one($i);
    }
    $ns = hrtime(true) - $t;
    printf("%-16s %7d calls  %8.1f µs/attempt  %9.0f attempts/s\n", $name, $calls, $ns / $calls / 1000, $calls / ($ns / 1e9));
}

$strict = new Client($socket, 1.0, null, true);
$strict->ping(); // fail loudly here if no daemon answers

// 20,000 calls over 508 addresses do reach maxretry: attempts on a banned
// address take the same path, and unban --all afterwards leaves no trace.
run('reused', $calls, static function (int $i) use ($strict, $jail, $ips): void {
    $strict->attempt($jail, $ips[$i % count($ips)], 'Incorrect token used.');
});
$strict->command(['unban', '--all']);
run('new connection', $calls, static function (int $i) use ($socket, $jail, $ips): void {
    (new Client($socket, 1.0, null, true))->attempt($jail, $ips[$i % count($ips)], 'Incorrect token used.');
});
$strict->command(['unban', '--all']);
