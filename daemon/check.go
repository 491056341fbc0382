package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/actions/nftables"
	"github.com/banserver/banserver/actions/route"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/server"
)

// CheckConfig loads the configuration at path ("" for the embedded
// default) with the checks Run makes of it before it starts, and starts
// nothing: no socket, no ban store, no netlink or nftables socket. Beyond
// config.Load's checks it checks log.level as the server reads it, that
// every jail's actions name built-in actions with valid options (kernel
// actions' options parsed as their factories parse them, with
// kernel.netns applied as Run applies it), and that the jail package takes
// every jail. It returns every problem found, joined.
//
// It checks the file, not the host's state at start: whether the daemon
// may change routes (root or CAP_NET_ADMIN), whether the socket is free,
// whether the store's directory and a netns exist are Run's to find out.
// User and group names are resolved, as config.Load does.
func CheckConfig(path string) error {
	cfg, err := config.LoadWith(path, configChecks(checkRegistry("")))
	if err != nil {
		return err
	}
	// Again as Run builds the jails, with kernel.netns given to kernel
	// actions that set no netns of their own.
	reg := checkRegistry(cfg.Kernel.NetNS)
	jails := jail.NewManager(jail.Options{})
	var errs []error
	for _, jc := range cfg.Jails {
		c, err := jailConfig(jc, reg)
		if err != nil {
			// The first pass took the specs as written: what fails now
			// fails with kernel.netns.
			if msg, ok := badOptions(err); ok {
				err = fmt.Errorf("daemon: jail %q: kernel.netns %q, which its kernel actions take unless they set their own: %s", jc.Name, cfg.Kernel.NetNS, msg)
			}
			errs = append(errs, err)
			continue
		}
		if err := jails.Add(c); err != nil {
			errs = append(errs, fmt.Errorf("daemon: jail %q: %w", jc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// configChecks are the checks config.LoadWith leaves to the daemon: the
// log level as the server reads it (one list of fail2ban's names, in
// server), and action specs as reg builds them.
func configChecks(reg *actions.Registry) config.Checks {
	return config.Checks{
		LogLevel: func(level string) error {
			_, _, err := server.ParseLogLevel(level)
			return err
		},
		Action: func(spec string) error {
			_, err := reg.Canonical(spec)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, actions.ErrUnknownAction):
				name, _, _ := actions.ParseSpec(spec)
				return fmt.Errorf("%q is not a built-in action: want %s", name, strings.Join(reg.Names(), ", "))
			}
			if msg, ok := badOptions(err); ok {
				return fmt.Errorf("%q: bad options: %s", spec, msg)
			}
			return fmt.Errorf("%q: %w", spec, err)
		},
		LogJail: checkLogJail,
	}
}

// badOptions returns what an actions.ErrBadOptions error says after the
// sentinel, without the wrapping that repeats the spec.
func badOptions(err error) (string, bool) {
	if !errors.Is(err, actions.ErrBadOptions) {
		return "", false
	}
	msg, sentinel := err.Error(), actions.ErrBadOptions.Error()+": "
	if i := strings.LastIndex(msg, sentinel); i >= 0 {
		msg = msg[i+len(sentinel):]
	}
	return msg, true
}

// checkRegistry has the actions Run's registry has (the log action and
// registerKernel's), but its kernel actions only parse their options, as
// their factories would, and open nothing. netns is kernel.netns.
func checkRegistry(netns string) *actions.Registry {
	reg := actions.NewRegistry(actions.Log{L: zap.NewNop()})
	for _, name := range kernelActions {
		reg.Register(name, withNetNS(checkFactory(name), netns))
	}
	return reg
}

// checkFactory parses the options of the kernel action called name and
// builds an action that does nothing.
func checkFactory(name string) actions.Factory {
	return func(spec string, opts map[string]string) (actions.Action, error) {
		var err error
		if name == "nftables" {
			_, err = nftables.ParseOptions(opts)
		} else {
			_, err = route.ParseOptions(name, opts)
		}
		if err != nil {
			return nil, err
		}
		return checkedAction(spec), nil
	}
}

// checkedAction is an action whose options were checked; it is never run.
type checkedAction string

// Name returns the action's canonical spec.
func (a checkedAction) Name() string { return string(a) }

// Ban does nothing.
func (checkedAction) Ban(context.Context, actions.Target) error { return nil }

// Unban does nothing.
func (checkedAction) Unban(context.Context, actions.Target) error { return nil }
