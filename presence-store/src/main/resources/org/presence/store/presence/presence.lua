-- The presence rules of PresenceAggregator (Java) on one user's hash, run atomically by Redis, so
-- that two nodes changing devices of the same user never both publish the same change.
--
-- KEYS[1]  the user's hash:
--   d:<device>  {"s": status or "", "m": message?, "o": owner session, "n": node, "u": millis,
--                "a": "421,492"?}  (no "a": every granted application; "" : none)
--   p:<app>     {"s": status, "m": message?, "v": "version"}  last view published to an audience;
--               p:0 is the audience of applications no device names
--   v           "version": the user's presence version, raised once per call with changes
--   mo, ma      the user's own messages (settings): shown with online (mo), with away and
--               unavailable (ma) when the device that set the status sent none; absent: none
-- ARGV[1] op: claim | update | release | messages
-- ARGV[2] device, ARGV[3] session ("" for a push report), ARGV[4] now (epoch millis)
-- claim:   ARGV[5] node                          -> {previous session, previous node}
-- update:  ARGV[5] status, ARGV[6] message flag ("1" when present), ARGV[7] message,
--          ARGV[8] applications ("-" for all, else comma-separated),
--          ARGV[9] "1" to replace the user's messages with ARGV[10] (mo) and ARGV[11] (ma)
-- messages: ARGV[5] mo, ARGV[6] ma (ARGV[2], ARGV[3] empty): every audience is looked at again
-- update, release and messages -> {"not_owner"} or {"ok", own scopes csv, app, status, message,
--          version, ...}
-- The last two ARGV of every op: the user, and the key prefix of the node indexes.
--
-- Node index <prefix><node>: a set naming the devices owned by sessions of that node, as
-- "<session>:<byte length of user>:<user><device>", so that the clean-up after a dead node finds
-- them. A claim moves the member from the previous owner's node to the new one; a release removes
-- it. (Keys computed in the script: this needs a single Redis, not Redis Cluster.)
local key = KEYS[1]
local op = ARGV[1]
local device = ARGV[2]
local session = ARGV[3]
local now = tonumber(ARGV[4])
local dfield = 'd:' .. device
local user = ARGV[#ARGV - 1]
local index_prefix = ARGV[#ARGV]

local function index_member(sess)
  return sess .. ':' .. #user .. ':' .. user .. device
end

local function index(cmd, node, sess)
  if node ~= nil and node ~= '' and sess ~= nil and sess ~= '' then
    redis.call(cmd, index_prefix .. node, index_member(sess))
  end
end

local RANK = { online = 1, away = 2, unavailable = 3 }

if op == 'claim' then
  local raw = redis.call('HGET', key, dfield)
  if raw then
    local d = cjson.decode(raw)
    local po, pn = d.o, d.n
    d.o = session
    d.n = ARGV[5]
    redis.call('HSET', key, dfield, cjson.encode(d))
    index('SREM', pn, po)
    index('SADD', ARGV[5], session)
    return { po, pn }
  end
  redis.call('HSET', key, dfield, cjson.encode({ s = '', o = session, n = ARGV[5], u = now }))
  index('SADD', ARGV[5], session)
  return { '', '' }
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

local flat = redis.call('HGETALL', key)
local devs, pub, ver, mo, ma = {}, {}, 0, '', ''
for i = 1, #flat, 2 do
  local f, v = flat[i], flat[i + 1]
  local kind = string.sub(f, 1, 2)
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

local cur = devs[device]
local nxt
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
  end
  if ARGV[9] == '1' then
    mo, ma = ARGV[10], ARGV[11]
  end
elseif op == 'release' then
  if cur == nil or cur.o ~= session then
    return { 'not_owner' }
  end
  index('SREM', cur.n, cur.o)
  nxt = nil
elseif op == 'messages' then
  mo, ma = ARGV[5], ARGV[6]
  cur = nil
  nxt = nil
else
  return redis.error_reply('unknown op ' .. tostring(op))
end

local old = cur
if op ~= 'messages' then
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
  if d.set then
    for app, _ in pairs(d.set) do
      own_after[app] = true
    end
  end
end

local touches_all = op == 'messages' or (old ~= nil and old.a == nil) or (nxt ~= nil and nxt.a == nil)
local affected = {}
if touches_all then
  for app, _ in pairs(own_before) do
    affected[app] = true
  end
  for app, _ in pairs(own_after) do
    affected[app] = true
  end
else
  for _, d in ipairs({ old or {}, nxt or {} }) do
    local s = appset(d.a)
    if s then
      for app, _ in pairs(s) do
        affected[app] = true
      end
    end
  end
end

local function best(app)
  local b, bname
  for name, d in pairs(devs) do
    local r = RANK[d.s]
    if r and (d.set == nil or (app ~= '0' and d.set[app])) then
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
  -- The device's own message wins; else the user's for the status (UserMessages.effective).
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

local version = math.max(ver + 1, now * 1000)
local vstr = string.format('%.0f', version)
local out = { 'ok', '' }
local changed_any = false
local all_before = pub['0'] or { s = 'offline' }

local function record(app, s, m)
  changed_any = true
  out[#out + 1] = app
  out[#out + 1] = s
  out[#out + 1] = m or ''
  out[#out + 1] = vstr
end

if touches_all then
  local s, m = best('0')
  if s ~= all_before.s or m ~= all_before.m then
    record('0', s, m)
    pub['0'] = { s = s, m = m, v = vstr }
    redis.call('HSET', key, 'p:0', cjson.encode(pub['0']))
  end
end

local order = {}
for app, _ in pairs(affected) do
  order[#order + 1] = app
end
table.sort(order, numless)
for _, app in ipairs(order) do
  local last = pub[app] or all_before
  local s, m = best(app)
  local changed = s ~= last.s or m ~= last.m
  if changed then
    record(app, s, m)
  end
  if own_after[app] then
    local view = last
    if changed then
      view = { s = s, m = m, v = vstr }
    end
    pub[app] = view
    redis.call('HSET', key, 'p:' .. app, cjson.encode(view))
  elseif pub[app] then
    pub[app] = nil
    redis.call('HDEL', key, 'p:' .. app)
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
  redis.call('HSET', key, dfield, cjson.encode(nxt))
elseif op ~= 'messages' then
  redis.call('HDEL', key, dfield)
end
for f, m in pairs({ mo = mo, ma = ma }) do
  if m ~= '' then
    redis.call('HSET', key, f, m)
  else
    redis.call('HDEL', key, f)
  end
end
if changed_any then
  redis.call('HSET', key, 'v', vstr)
end

-- Nothing left worth remembering: drop the key (the version restarts from the clock).
if next(devs) == nil then
  local keep = false
  for _, view in pairs(pub) do
    if view.s ~= 'offline' or view.m ~= nil then
      keep = true
    end
  end
  if not keep then
    redis.call('DEL', key)
  end
end
return out
