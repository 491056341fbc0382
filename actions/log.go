package actions

import (
	"context"

	"go.uber.org/zap"
)

// Log is the action that only logs: useful alone to watch what a jail would
// do, and as a record beside the kernel actions.
type Log struct {
	L *zap.Logger
}

// Name returns "log".
func (Log) Name() string { return "log" }

// Ban logs the ban.
func (a Log) Ban(_ context.Context, t Target) error {
	a.L.Info("ban", zap.String("jail", t.Jail), zap.Stringer("ip", t.Prefix),
		zap.Time("start", t.Start), zap.Duration("bantime", t.BanTime))
	return nil
}

// Unban logs the unban.
func (a Log) Unban(_ context.Context, t Target) error {
	a.L.Info("unban", zap.String("jail", t.Jail), zap.Stringer("ip", t.Prefix))
	return nil
}
