<?php

declare(strict_types=1);

namespace BanServer\Pickle;

/**
 * Box holds a container while a pickle is decoded. Python lists and dicts are
 * shared by reference through the memo and filled after they are memoized;
 * PHP arrays are values, so the decoder keeps objects (which PHP shares) and
 * turns them into arrays once, at STOP.
 *
 * @internal
 */
final class Box
{
    /** A list or set: items in order. */
    public const LIST = 0;
    /** A tuple: items in order; never changes once built. */
    public const TUPLE = 1;
    /** A dict: items keyed by int or string. */
    public const DICT = 2;
    /** An allowed class named by GLOBAL or STACK_GLOBAL; $name holds it. */
    public const CLS = 3;
    /** An exception built by REDUCE; $name its class, $items its args. */
    public const EXC = 4;

    /** @var int one of the constants above */
    public int $kind;

    /** @var array<int|string, mixed> */
    public array $items;

    /** @var string class name for CLS and EXC */
    public string $name = '';

    /** @param array<int|string, mixed> $items */
    public function __construct(int $kind, array $items = [], string $name = '')
    {
        $this->kind = $kind;
        $this->items = $items;
        $this->name = $name;
    }
}
