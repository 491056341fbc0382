<?php

declare(strict_types=1);

// An API endpoint guarded by a bearer token. A wrong token is reported to
// banserver; after 10 in 30 minutes the address is banned for an hour (and,
// with a kernel action, its traffic dropped before it reaches PHP).
//
// Reporting costs one Unix-socket round trip (tens of microseconds) and can
// never break the request: when the daemon is down or slow, attempt()
// returns 0 within its timeout and logs a warning.

// With Composer: require __DIR__ . '/vendor/autoload.php';
require __DIR__ . '/../../php-client/autoload.php';

use BanServer\Client;
use BanServer\ClientIp;

const API_TOKEN_ENV = 'API_TOKEN';
// Your reverse proxies (nginx, a load balancer): only their
// X-Forwarded-For is believed.
const TRUSTED_PROXIES = ['127.0.0.1', '::1', '10.0.0.0/8'];

header('Content-Type: application/json');

$expected = (string) getenv(API_TOKEN_ENV);
$auth = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
$given = strncasecmp($auth, 'Bearer ', 7) === 0 ? substr($auth, 7) : '';

if ($expected === '' || !hash_equals($expected, $given)) {
    $ip = ClientIp::fromServer($_SERVER, TRUSTED_PROXIES);
    $client = new Client(getenv('BAN_SOCKET') ?: '/run/ban.sock', 0.25);
    $client->attempt('api', $ip, 'Incorrect token used.');
    http_response_code(401);
    echo json_encode(['error' => 'invalid token']), "\n";
    exit;
}

echo json_encode(['ok' => true, 'time' => time()]), "\n";
