<?php

declare(strict_types=1);

namespace BanServer\Exception;

/**
 * The server answered (1, exception): the command was understood and refused.
 * Subclasses name the cases callers tell apart; others arrive as this class.
 */
class ServerException extends BanServerException
{
    /** @var string the Python class, e.g. "builtins.ValueError" */
    private string $pythonClass;

    /** @var array<int, mixed> the exception's args as the server sent them */
    private array $pythonArgs;

    /**
     * @param array<int, mixed> $args
     */
    public function __construct(string $pythonClass, array $args = [], ?\Throwable $previous = null)
    {
        $this->pythonClass = $pythonClass;
        $this->pythonArgs = $args;
        parent::__construct(self::describe($pythonClass, $args), 0, $previous);
    }

    /** The Python class name of the remote exception ("builtins.ValueError"). */
    public function getPythonClass(): string
    {
        return $this->pythonClass;
    }

    /**
     * The remote exception's args.
     *
     * @return array<int, mixed>
     */
    public function getPythonArgs(): array
    {
        return $this->pythonArgs;
    }

    /**
     * The message as Python's str(exception) would read: its single arg, or
     * the args joined.
     */
    public function getServerMessage(): string
    {
        return self::argsText($this->pythonArgs);
    }

    /**
     * Builds the subclass that matches the Python class.
     *
     * @param array<int, mixed> $args
     */
    public static function fromPython(string $pythonClass, array $args): self
    {
        switch ($pythonClass) {
            case 'fail2ban.exceptions.UnknownJailException':
                return new UnknownJailException($pythonClass, $args);
            case 'fail2ban.exceptions.DuplicateJailException':
                return new DuplicateJailException($pythonClass, $args);
            case 'builtins.PermissionError':
                return new PermissionDeniedException($pythonClass, $args);
            case 'builtins.ValueError':
                return new InvalidValueException($pythonClass, $args);
            default:
                return new self($pythonClass, $args);
        }
    }

    /** @param array<int, mixed> $args */
    private static function describe(string $class, array $args): string
    {
        $dot = strrpos($class, '.');
        $short = $dot === false ? $class : substr($class, $dot + 1);
        $text = self::argsText($args);
        return $text === '' ? $short : $short . ': ' . $text;
    }

    /** @param array<int, mixed> $args */
    private static function argsText(array $args): string
    {
        $parts = [];
        foreach ($args as $a) {
            $parts[] = is_scalar($a) || $a === null ? (string) $a : json_encode($a);
        }
        return implode(', ', $parts);
    }
}
