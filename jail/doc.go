// Package jail keeps fail2ban-style jails: it counts failures per address,
// bans an address once it fails maxretry times within findtime, and lifts
// the ban after bantime. It knows addresses (netip.Addr, netip.Prefix) and
// time, nothing of sockets, pickles or the kernel: bans and unbans leave the
// package as Events handed to Options.OnEvent.
//
// # Memory bound
//
// Failure tracking is capped: at most Options.MaxFailures (default
// DefaultMaxFailures = 100,000) (jail, address) entries are kept over all
// jails together. When the cap is reached the least recently seen entry is
// evicted (an O(1) intrusive LRU list) to make room, so a flood of distinct
// addresses cannot grow memory without bound; an evicted address simply
// starts counting from zero again. Each entry keeps the times of its last
// maxretry failures (exact sliding window), so maxretry is capped at
// MaxRetryLimit; an entry costs 336 bytes plus its map slot (about 400 in
// all, so about 40 MB at the default cap), plus 8 bytes per remembered
// failure when maxretry exceeds 8. The failure messages an entry keeps are
// the caller's strings, at most 10 per entry. Live bans are not capped:
// they are what the jail is for, and each one expires after bantime.
//
// # Semantics
//
// The rules follow fail2ban 1.0.2 (server/failmanager.py, banmanager.py,
// actions.py, filter.py) with these deliberate choices:
//   - a failure at time t counts while now-t < findtime (fail2ban drops an
//     entry whose last failure is at or before now-findtime);
//   - loopback addresses are never counted nor banned; ignoreip and
//     ignoreself addresses are not counted, and BanIP refuses them, and any
//     address of this host, with ErrInvalidAddress (fail2ban's banip bans
//     them: with kernel enforcement that locks the operator out);
//   - a jail with IPv6Prefix counts and bans IPv6 attackers by prefix (a
//     /64 by default choice of operators), except where the prefix would
//     cover an ignored or own address: there it falls back to the address;
//   - an idle jail counts nothing;
//   - SetBanTime applies to bans made afterwards, not to live ones;
//   - BanIP on an address already banned prolongs its ban to now+bantime
//     when that ends later (fail2ban's BanManager.addBanTicket), without an
//     event and without counting it as a new ban.
//
// # Locks
//
// Lock order: Manager.mu, then jail.mu, then any of failTable.mu,
// banHeap.mu, selfCache.mu or jail.evMu. jail.deliverMu is taken with no
// other lock held (and takes jail.evMu inside). OnEvent runs with only
// jail.deliverMu held, so it may call read-only Manager methods, but must
// not ban or unban in the same jail (that would wait on itself).
package jail
