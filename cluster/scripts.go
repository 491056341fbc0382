package cluster

import "github.com/redis/go-redis/v9"

// The scripts make each change atomic on the server, so that nodes racing
// on the same attacker agree without locks. Every key a script touches is
// in KEYS and shares the prefix's hash tag, so all of them live in one
// slot of a Redis Cluster. Times are unix microseconds, ban and find
// times microseconds with -1 for forever (milliseconds would make an unban
// and a new ban in the same millisecond a tie). Numbers are written with %.0f: Lua
// (5.1, doubles) would write large ones in exponent form.

// luaCommon holds helpers every script starts with.
const luaCommon = `
local function fin(s, b) if b < 0 then return math.huge end return s + b end
local function num(x) return string.format('%.0f', x) end
local function parseban(v)
  if not v then return nil end
  local s, b, c = string.match(v, '^(%d+)|(%-?%d+)|(%d+)|')
  s, b, c = tonumber(s), tonumber(b), tonumber(c)
  if not (s and b and c) then return nil end
  return s, b, c
end
`

// failScript counts a batch of failures. KEYS[1] is the bans hash, KEYS[i+1]
// the failure set of failure i; ARGV: now, member prefix, then per failure
// field, time, count, maxretry, findtime (-1: never forgotten), sequence.
// Each set holds one member per failure (unique: node, run and sequence,
// so a batch sent twice counts once), scored by its time. A failure that
// completes maxretry failures within findtime (any window holding it, so a
// failure sent late still counts where it belongs) deletes the set and,
// unless the key is banned, is returned: index and the window's last time.
var failScript = redis.NewScript(luaCommon + `
local now, mp = tonumber(ARGV[1]), ARGV[2]
local out = {}
for i = 1, #KEYS - 1 do
  local a = 2 + (i - 1) * 6
  local fld, at, cnt, mr, ft, seq = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), ARGV[a + 6]
  local k = KEYS[i + 1]
  if at and cnt and mr and ft and mr >= 1 and cnt >= 1 then
    -- The time as sent (a decimal integer) is the score as it is.
    local sat, m0 = ARGV[a + 2], mp .. ':' .. seq
    if cnt == 1 then
      redis.call('ZADD', k, sat, m0)
    else
      for c = 1, math.min(cnt, mr) do
        redis.call('ZADD', k, sat, m0 .. ':' .. c)
      end
    end
    -- Most failures are an attacker's first few: a set holding fewer
    -- than maxretry needs no trim and no scan (and stays that small).
    local held = redis.call('ZCARD', k)
    if ft > 0 and held >= mr then
      -- Trim by the newest failure only: one sent late must not drop
      -- failures a window of its own still holds.
      local newest = redis.call('ZREVRANGE', k, 0, 0, 'WITHSCORES')
      if tonumber(newest[2]) <= at then
        held = held - redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. num(at - ft))
      end
    end
    local s, m = {}, 0
    if held >= mr then
      local lo, hi = '-inf', '+inf'
      if ft > 0 then lo, hi = '(' .. num(at - ft), '(' .. num(at + ft) end
      s = redis.call('ZRANGEBYSCORE', k, lo, hi, 'WITHSCORES')
      m = #s / 2
    end
    local reached = nil
    for j = 1, m - mr + 1 do
      local first, last = tonumber(s[2 * j]), tonumber(s[2 * (j + mr - 1)])
      if first <= at and last >= at and (ft <= 0 or last - first < ft) then
        reached = last
        break
      end
    end
    if reached then
      redis.call('DEL', k)
      local bs, bb = parseban(redis.call('HGET', KEYS[1], fld))
      if not (bs and fin(bs, bb) > now) then
        out[#out + 1] = i
        out[#out + 1] = num(reached)
      end
    elseif ft > 0 then
      redis.call('PEXPIRE', k, num(math.ceil(ft / 1000)))
    end
  end
end
return out
`)

// banScript records a ban or a prolongation. KEYS: bans, tombstones, the
// jail's counts, the overall counts, the stream. ARGV: field, start,
// bantime, count, node, now, maxlen, jail, prefix, src. The later end wins:
// a ban ending no later than the one held changes nothing and returns
// {0, held}; a tombstone at or after the ban's start (an unban made since
// it began) rejects it with {-1, unban time}. A ban ended already returns
// {0}. Otherwise the ban is stored (a prolongation keeps the earlier
// start), the counts move (a new ban counts one more), the change goes to
// the stream, and {1, id, jc, oc} comes back.
var banScript = redis.NewScript(luaCommon + `
local fld, node, maxlen, jail, prefix, src = ARGV[1], ARGV[5], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local start, bt, cnt, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
if not (start and bt and cnt and now) then return redis.error_reply('banserver: bad ban arguments') end
local t = redis.call('HGET', KEYS[2], fld)
if t then
  local ut, te = string.match(t, '^(%d+)|(%d+)$')
  ut, te = tonumber(ut), tonumber(te)
  if not (ut and te) or te <= now then
    redis.call('HDEL', KEYS[2], fld)
  elseif ut >= start then
    return {-1, num(ut)}
  end
end
local nend = fin(start, bt)
if nend <= now then return {0} end
local op = 'ban'
local cur = redis.call('HGET', KEYS[1], fld)
local cs, cb, cc = parseban(cur)
if cs and fin(cs, cb) > now then
  if nend <= fin(cs, cb) then return {0, cur} end
  op = 'prolong'
  cnt = math.max(cnt, cc)
  if cs < start then
    if bt >= 0 then bt = nend - cs end
    start = cs
  end
end
local jc = tonumber(redis.call('HGET', KEYS[3], prefix)) or 0
local oc = tonumber(redis.call('HGET', KEYS[4], prefix)) or 0
if op == 'ban' then jc, oc = jc + 1, oc + 1 end
jc, oc = math.max(jc, cnt), math.max(oc, cnt)
redis.call('HSET', KEYS[3], prefix, num(jc))
redis.call('HSET', KEYS[4], prefix, num(oc))
local sb, bb = num(start), num(bt)
redis.call('HSET', KEYS[1], fld, sb .. '|' .. bb .. '|' .. num(cnt) .. '|' .. node)
local id = redis.call('XADD', KEYS[5], 'MAXLEN', '~', maxlen, '*', 'op', op, 'jail', jail, 'prefix', prefix,
  'start', sb, 'bantime', bb, 'count', num(cnt), 'jc', num(jc), 'oc', num(oc), 'node', node, 'src', src)
return {1, id, jc, oc}
`)

// unbanScript lifts a ban. KEYS: bans, tombstones, the stream. ARGV: field,
// unban time, node, now, maxlen, jail, prefix, end of the ban the node
// lifted (-1: forever), tombstone time for forever bans, src. A ban held
// that started after the unban is a newer one: it stays, and {0, held}
// tells the node. Otherwise the ban goes, a tombstone (kept until the ban
// would have ended) rejects a late republication of it, and the unban goes
// to the stream: {1, id}.
var unbanScript = redis.NewScript(luaCommon + `
local fld, node, maxlen, jail, prefix, src = ARGV[1], ARGV[3], ARGV[5], ARGV[6], ARGV[7], ARGV[10]
local at, now, until_, long = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[8]), tonumber(ARGV[9])
if not (at and now and until_ and long) then return redis.error_reply('banserver: bad unban arguments') end
local cur = redis.call('HGET', KEYS[1], fld)
local cs, cb = parseban(cur)
if cs and cs > at then return {0, cur} end
local exp = until_
if exp < 0 then exp = math.huge end
if cs then
  exp = math.max(exp, fin(cs, cb))
  redis.call('HDEL', KEYS[1], fld)
end
if exp == math.huge then exp = now + long end
if exp > now then
  local ut, te = string.match(redis.call('HGET', KEYS[2], fld) or '', '^(%d+)|(%d+)$')
  ut, te = tonumber(ut), tonumber(te)
  local tat = at
  if ut and te and te > now then tat, exp = math.max(ut, at), math.max(te, exp) end
  redis.call('HSET', KEYS[2], fld, num(tat) .. '|' .. num(exp))
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*', 'op', 'unban', 'jail', jail, 'prefix', prefix,
  'at', num(at), 'node', node, 'src', src)
return {1, id}
`)

// snapshotScript reads, in one step, the stream's last id and every live
// ban, dropping ended bans and tombstones on the way, and the ban counts.
// KEYS: bans, tombstones, the stream, the overall counts, then the counts
// of each jail asked for. ARGV: now. Reply: {last id, {field, value, ...},
// {overall counts}, {counts of KEYS[5]}, ...}.
var snapshotScript = redis.NewScript(luaCommon + `
local now = tonumber(ARGV[1])
local last = '0-0'
local r = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #r > 0 then last = r[1][1] end
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local s, b = parseban(all[i + 1])
  if s and fin(s, b) > now then
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local tombs = redis.call('HGETALL', KEYS[2])
for i = 1, #tombs, 2 do
  local te = tonumber(string.match(tombs[i + 1], '|(%d+)$'))
  if not te or te <= now then redis.call('HDEL', KEYS[2], tombs[i]) end
end
local out = {last, live}
for i = 4, #KEYS do out[#out + 1] = redis.call('HGETALL', KEYS[i]) end
return out
`)

// readScript reads the stream after ARGV[1], at most ARGV[2] entries, or
// says it was trimmed past that id ({'trimmed'}): entries this node has not
// applied may be gone, only a full resync catches up. Trimming (MAXLEN)
// removes the oldest entries and, in Redis 7.0, leaves
// max-deleted-entry-id alone, so the test is: the last entry applied is
// itself gone (or, before any, something was deleted). That errs on the
// safe side: a node whose last entry was trimmed while nothing after it
// was resyncs for nothing, which needs it to lag by about StreamMaxLen.
// Atomic, so no entry can be trimmed between the check and the read.
// Reply: {'ok', entries}.
var readScript = redis.NewScript(`
local last = ARGV[1]
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if type(info) ~= 'table' or info.err then return {'ok', {}} end
local added, len = 0, 0
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = tonumber(info[i + 1]) end
  if info[i] == 'length' then len = tonumber(info[i + 1]) end
end
if last == '0-0' then
  if added > len then return {'trimmed'} end
elseif #redis.call('XRANGE', KEYS[1], last, last) == 0 then
  return {'trimmed'}
end
return {'ok', redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', ARGV[2])}
`)
