-- The presence rules of PresenceAggregator (Java) on one user's hash, run atomically by Redis, so
-- that two nodes changing devices of the same user never both publish the same change.
--
-- KEYS[1]  the user's hash:
--   d:<device>  {"s": status or "", "m": message?, "o": owner session, "n": node, "u": millis,
--                "a": "421,492"?, "e": {"<app>": {"s", "m"?, "u"}, ...}?}
--               (no "a": every granted application; "" : none). "a" is the latest update's
--               list; "e" what earlier updates still show the applications outside it, "0" for
--               every application named neither in "a" nor in "e" (at most MAX_EARLIER ids)
--   p:<app>     {"s": status, "m": message?, "v": "version"}  last view published to an audience;
--               p:0 is the audience of applications no device names
--   v           "version": the user's presence version, raised once per call with changes. A user
--               with nothing left to show keeps a hash of v alone (a floor) while floor_needed, so
--               that the next version is above it whatever the clock that draws it
--   mo, ma      the user's own messages (settings): shown with online (mo), with away and
--               unavailable (ma) when the device that set the status sent none; absent: none
--   w           the write token: a new value with every write of the hash, never one it held
--               before ("r<Redis time>.<n>" here; a node deciding an update itself writes its own,
--               see RedisStatusBatches), so a node that read the hash knows, by comparing w alone,
--               whether it still holds what it read (a floor has none, as a missing hash)
-- ARGV[1] op: claim | update | release | messages
-- ARGV[2] device, ARGV[3] session ("" for a push report), ARGV[4] now (epoch millis)
-- claim:   ARGV[5] node, ARGV[6] most owned devices of the user
--                                                -> {previous session, previous node}, or
--                                                   {"", "", "full"} when refused (the device had
--                                                   no owner and the user has that many owned)
-- update:  ARGV[5] status, ARGV[6] message flag ("1" when present), ARGV[7] message,
--          ARGV[8] applications ("-" for all, else comma-separated),
--          ARGV[9] "1" to replace the user's messages with ARGV[10] (mo) and ARGV[11] (ma)
-- messages: ARGV[5] mo, ARGV[6] ma (ARGV[2], ARGV[3] empty): every audience is looked at again
-- orphans: ARGV[5 .. #ARGV - 2] the live nodes (ARGV[2], ARGV[3] empty): removes every device owned
--          by a session of a node not named (its lease is gone), as a release would; touches only
--          the user's hash (not the node indexes: the dead node's index goes with its clean-up)
-- update, release, messages and orphans -> {"not_owner"} or {"ok", own scopes csv, app, status,
--          message, version, ...}
-- The last two ARGV of every op: the user, and the key prefix of the node indexes.
--
-- Node index <prefix><node>: a set naming the devices owned by sessions of that node, as
-- "<session>:<byte length of user>:<user><device>", so that the clean-up after a dead node finds
-- them. A claim moves the member from the previous owner's node to the new one; a release removes
-- it. These keys are computed in the script, so on a Redis Cluster (where a script touches the
-- user's slot only) the prefix is empty, the script keeps no index and the caller keeps it.
--
-- This file only defines presence_op(key, ARGV) (KEYS[1] and ARGV as above; it returns the reply);
-- RedisPresenceStateStore runs it for one call, RedisStatusBatches for each update of a batch, so
-- the rules have one copy. The helpers are defined once, outside presence_op, so that a batch of
-- many calls does not build them again for each (the body is not indented, to keep its history
-- readable).

local RANK = { online = 1, away = 2, unavailable = 3 }

-- A write token no hash ever held: Redis's clock in microseconds at this script call's first write,
-- then a count of this call's writes (no two calls run in the same microsecond).
local w_base, w_count = nil, 0
local function new_w()
  if w_base == nil then
    local t = redis.call('TIME')
    w_base = 'r' .. t[1] .. '.' .. t[2] .. '.'
  end
  w_count = w_count + 1
  return w_base .. w_count
end
-- DeviceState.MAX_EARLIER
local MAX_EARLIER = 100

-- PresenceAggregator.FLOOR_KEEP_MILLIS: the update log's retention, for which it remembers the
-- last version it took of each PUID.
local FLOOR_KEEP_MS = 3600000

-- PresenceAggregator.floorNeeded: whether version v must be kept at now (epoch millis) once the
-- user has nothing left to show (v is at least its change's time in ms times 1000).
local function floor_needed(v, now)
  return v > 0 and v > (now - FLOOR_KEEP_MS) * 1000
end

-- Adds or removes (cmd) the node index member of device's session sess of user on node.
local function index(index_prefix, user, device, cmd, node, sess)
  if index_prefix ~= '' and node ~= nil and node ~= '' and sess ~= nil and sess ~= '' then
    redis.call(cmd, index_prefix .. node, sess .. ':' .. #user .. ':' .. user .. device)
  end
end

-- Application ids stay strings: Lua numbers are doubles and ids are 64-bit.
local function numless(a, b)
  if #a ~= #b then
    return #a < #b
  end
  return a < b
end

local function appset(csv)
  if csv == nil then
    return nil
  end
  local s = {}
  for id in string.gmatch(csv, '%d+') do
    s[id] = true
  end
  return s
end

-- What device d (with set = appset(d.a)) shows audience app ('0': the shared one), or nil.
local function shown(d, set, app)
  if d.a == nil or (app ~= '0' and set[app]) then
    if d.s == '' then
      return nil
    end
    return d
  end
  if d.e == nil then
    return nil
  end
  if app ~= '0' and d.e[app] then
    return d.e[app]
  end
  return d.e['0']
end

-- The applications d names: its latest update's and those it shows earlier.
local function add_named(into, d)
  local s = appset(d.a)
  if s then
    for app, _ in pairs(s) do
      into[app] = true
    end
  end
  if d.e then
    for app, _ in pairs(d.e) do
      if app ~= '0' then
        into[app] = true
      end
    end
  end
end

local function shows_all(d)
  return d ~= nil and (d.a == nil or (d.e ~= nil and d.e['0'] ~= nil))
end

-- What audience app sees of the devices devs (each with its set): status and message, the
-- device's own message first, else the user's for the status (mo, ma; UserMessages.effective).
local function best(devs, app, mo, ma)
  local b, bname
  for name, dev in pairs(devs) do
    local d = shown(dev, dev.set, app)
    local r = d and RANK[d.s]
    if r then
      local better
      if b == nil then
        better = true
      elseif r ~= RANK[b.s] then
        better = r < RANK[b.s]
      elseif d.u ~= b.u then
        better = d.u > b.u
      else
        better = name < bname
      end
      if better then
        b, bname = d, name
      end
    end
  end
  if b == nil then
    return 'offline', nil
  end
  local m = b.m
  if m == nil or m == '' then
    if b.s == 'online' then
      m = mo
    else
      m = ma
    end
  end
  if m == '' then
    m = nil
  end
  return b.s, m
end

-- The user's message field f (mo or ma) as value v, if it changed from before: set, or deleted
-- when empty.
local function set_message(hset, hdel, f, v, before)
  if v == before then
    return
  end
  if v ~= '' then
    hset[#hset + 1] = f
    hset[#hset + 1] = v
  else
    hdel[#hdel + 1] = f
  end
end

local function presence_op(key, ARGV)
local op = ARGV[1]
local device = ARGV[2]
local session = ARGV[3]
local now = tonumber(ARGV[4])
local dfield = 'd:' .. device
local user = ARGV[#ARGV - 1]
local index_prefix = ARGV[#ARGV]

if op == 'claim' then
  local raw = redis.call('HGET', key, dfield)
  local d = nil
  if raw then
    d = cjson.decode(raw)
  end
  if d == nil or d.o == nil or d.o == '' then
    -- A device that no session owns yet: it counts against the user's cap.
    local owned = 0
    local flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do
      if string.sub(flat[i], 1, 2) == 'd:' then
        local o = cjson.decode(flat[i + 1]).o
        if o ~= nil and o ~= '' then
          owned = owned + 1
        end
      end
    end
    if owned >= tonumber(ARGV[6]) then
      return { '', '', 'full' }
    end
  end
  if d then
    local po, pn = d.o, d.n
    d.o = session
    d.n = ARGV[5]
    redis.call('HSET', key, dfield, cjson.encode(d), 'w', new_w())
    index(index_prefix, user, device, 'SREM', pn, po)
    index(index_prefix, user, device, 'SADD', ARGV[5], session)
    return { po, pn }
  end
  redis.call('HSET', key, dfield, cjson.encode({ s = '', o = session, n = ARGV[5], u = now }),
    'w', new_w())
  index(index_prefix, user, device, 'SADD', ARGV[5], session)
  return { '', '' }
end

local flat = redis.call('HGETALL', key)
local devs, pub, ver, mo, ma = {}, {}, 0, '', ''
-- Whether the hash is a floor: v alone (or nothing).
local bare = true
for i = 1, #flat, 2 do
  local f, v = flat[i], flat[i + 1]
  local kind = string.sub(f, 1, 2)
  if f ~= 'v' then
    bare = false
  end
  if kind == 'd:' then
    devs[string.sub(f, 3)] = cjson.decode(v)
  elseif kind == 'p:' then
    pub[string.sub(f, 3)] = cjson.decode(v)
  elseif f == 'v' then
    ver = tonumber(v)
  elseif f == 'mo' then
    mo = v
  elseif f == 'ma' then
    ma = v
  end
end

local mo0, ma0 = mo, ma
local cur = devs[device]
local nxt
-- orphans: the names of the devices removed, and the devices.
local gone, gone_devs = {}, {}
if op == 'update' then
  if session ~= '' and (cur == nil or cur.o ~= session) then
    return { 'not_owner' }
  end
  nxt = { s = ARGV[5], o = cur and cur.o or '', n = cur and cur.n or '', u = now }
  if ARGV[6] == '1' then
    nxt.m = ARGV[7]
  end
  if ARGV[8] ~= '-' then
    nxt.a = ARGV[8]
    -- For this update only: the applications it does not name keep what they saw.
    if cur then
      local named, cset, e = appset(ARGV[8]), appset(cur.a), {}
      local function keep(app, v)
        if v then
          e[app] = { s = v.s, m = v.m, u = v.u }
        end
      end
      keep('0', shown(cur, cset, '0'))
      if cset then
        for app, _ in pairs(cset) do
          if not named[app] then
            keep(app, shown(cur, cset, app))
          end
        end
      end
      if cur.e then
        for app, v in pairs(cur.e) do
          if app ~= '0' and not named[app] then
            keep(app, v)
          end
        end
      end
      local apps = {}
      for app, _ in pairs(e) do
        if app ~= '0' then
          apps[#apps + 1] = app
        end
      end
      if #apps > MAX_EARLIER then
        table.sort(apps, function(x, y)
          if e[x].u ~= e[y].u then
            return e[x].u < e[y].u
          end
          return numless(x, y)
        end)
        for i = 1, #apps - MAX_EARLIER do
          e[apps[i]] = nil
        end
      end
      if next(e) ~= nil then
        nxt.e = e
      end
    end
  end
  if ARGV[9] == '1' then
    mo, ma = ARGV[10], ARGV[11]
  end
elseif op == 'release' then
  if cur == nil or cur.o ~= session then
    return { 'not_owner' }
  end
  index(index_prefix, user, device, 'SREM', cur.n, cur.o)
  nxt = nil
elseif op == 'messages' then
  mo, ma = ARGV[5], ARGV[6]
  cur = nil
  nxt = nil
elseif op == 'orphans' then
  local live = {}
  for i = 5, #ARGV - 2 do
    live[ARGV[i]] = true
  end
  for name, d in pairs(devs) do
    if d.o ~= nil and d.o ~= '' and d.n ~= nil and d.n ~= '' and not live[d.n] then
      gone[#gone + 1] = name
    end
  end
  if #gone == 0 then
    -- The sweep also drops the floors no longer needed.
    if bare and #flat > 0 and not floor_needed(ver, now) then
      redis.call('DEL', key)
    end
    return { 'ok', '' }
  end
  cur = nil
  nxt = nil
else
  return redis.error_reply('unknown op ' .. tostring(op))
end

local old = cur
if op == 'orphans' then
  for _, name in ipairs(gone) do
    gone_devs[#gone_devs + 1] = devs[name]
    devs[name] = nil
  end
elseif op ~= 'messages' then
  devs[device] = nxt
end
for _, d in pairs(devs) do
  d.set = appset(d.a)
end

local own_before, own_after = {}, {}
for app, _ in pairs(pub) do
  if app ~= '0' then
    own_before[app] = true
  end
end
for _, d in pairs(devs) do
  add_named(own_after, d)
end

-- A change of the user's messages may change what every audience sees.
local touches_all = op == 'messages' or shows_all(old) or shows_all(nxt)
for _, d in ipairs(gone_devs) do
  touches_all = touches_all or shows_all(d)
end
local affected = {}
if touches_all then
  for app, _ in pairs(own_before) do
    affected[app] = true
  end
  for app, _ in pairs(own_after) do
    affected[app] = true
  end
else
  if old then
    add_named(affected, old)
  end
  if nxt then
    add_named(affected, nxt)
  end
  for _, d in ipairs(gone_devs) do
    add_named(affected, d)
  end
end

-- Every write of the decision goes out in one HSET and one HDEL at the end.
local hset, hdel = {}, {}
-- An integer below 2^53 (what a double holds exactly): '%d' writes it as '%.0f' would, at a
-- fraction of the cost.
local vstr = string.format('%d', math.max(ver + 1, now * 1000))
local out = { 'ok', '' }
local all_before = pub['0'] or { s = 'offline' }

if touches_all then
  local s, m = best(devs, '0', mo, ma)
  if s ~= all_before.s or m ~= all_before.m then
    out[#out + 1] = '0'
    out[#out + 1] = s
    out[#out + 1] = m or ''
    out[#out + 1] = vstr
    pub['0'] = { s = s, m = m, v = vstr }
    hset[#hset + 1] = 'p:0'
    hset[#hset + 1] = cjson.encode(pub['0'])
  end
end

local order = {}
for app, _ in pairs(affected) do
  order[#order + 1] = app
end
table.sort(order, numless)
for _, app in ipairs(order) do
  local last = pub[app] or all_before
  local s, m = best(devs, app, mo, ma)
  local changed = s ~= last.s or m ~= last.m
  if changed then
    out[#out + 1] = app
    out[#out + 1] = s
    out[#out + 1] = m or ''
    out[#out + 1] = vstr
  end
  if own_after[app] then
    local view = last
    if changed then
      view = { s = s, m = m, v = vstr }
    end
    pub[app] = view
    hset[#hset + 1] = 'p:' .. app
    hset[#hset + 1] = cjson.encode(view)
  elseif pub[app] then
    pub[app] = nil
    hdel[#hdel + 1] = 'p:' .. app
  end
end

local own = {}
for app, _ in pairs(own_before) do
  own[app] = true
end
for app, _ in pairs(own_after) do
  own[app] = true
end
local own_list = {}
for app, _ in pairs(own) do
  own_list[#own_list + 1] = app
end
table.sort(own_list, numless)
out[2] = table.concat(own_list, ',')

if nxt then
  nxt.set = nil
  hset[#hset + 1] = dfield
  hset[#hset + 1] = cjson.encode(nxt)
elseif op == 'orphans' then
  for _, name in ipairs(gone) do
    hdel[#hdel + 1] = 'd:' .. name
  end
elseif op ~= 'messages' then
  hdel[#hdel + 1] = dfield
end
set_message(hset, hdel, 'mo', mo, mo0)
set_message(hset, hdel, 'ma', ma, ma0)
if #out > 2 then
  hset[#hset + 1] = 'v'
  hset[#hset + 1] = vstr
end

-- Nothing left to show: the hash goes, but for the version while floor_needed (a hash of v alone:
-- the floor, one HSET more than the DEL), so that the user's next change is numbered above this
-- one's however soon it comes and whichever node's clock draws it (else the update logs' per-PUID
-- guards would drop it). A floor that nothing changed is left as it is.
if next(devs) == nil then
  local keep = false
  for _, view in pairs(pub) do
    if view.s ~= 'offline' or view.m ~= nil then
      keep = true
    end
  end
  if not keep then
    local floor = ver
    if #out > 2 then
      floor = tonumber(vstr)
    end
    if not floor_needed(floor, now) then
      redis.call('DEL', key)
    elseif not (bare and #out == 2) then
      redis.call('DEL', key)
      redis.call('HSET', key, 'v', string.format('%d', floor))
    end
    return out
  end
end
if #hset > 0 or #hdel > 0 then
  hset[#hset + 1] = 'w'
  hset[#hset + 1] = new_w()
  redis.call('HSET', key, unpack(hset))
end
if #hdel > 0 then
  redis.call('HDEL', key, unpack(hdel))
end
return out
end
