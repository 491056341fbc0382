<?php

declare(strict_types=1);

namespace BanServer\Pickle;

/**
 * A Python exception as the decoder returns it: a description (class name
 * and args), never an instance of anything named by the pickle.
 */
final class PythonException
{
    /** @var string canonical class name, e.g. "builtins.ValueError" */
    public string $class;

    /** @var array<int, mixed> */
    public array $args;

    /** @param array<int, mixed> $args */
    public function __construct(string $class, array $args)
    {
        $this->class = $class;
        $this->args = $args;
    }
}
