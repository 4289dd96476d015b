-- Apply one decision to one stage, atomically.
-- KEYS: 1 state hash, 2 history list, 3 audit stream, 4 outbox list, 5 seen key,
--       6 deliveries list; with a change to record, 7 the project's changes (sorted set),
--       8 their details (hash)
-- ARGV: 1 expected version, 2 new version, 3 state doc, 4 seen ttl (s), 5 history limit,
--       6 deliveries limit, 7 delivery records and audit entries kept (s), 8 number of finished deployments, then
--       those, then as many delivery records, then the number of audit entries, then those,
--       then 0, or 1 and a change to record (sha, time, details, 1 to replace the details
--       known, changes made before this time are forgotten, the most changes kept), then
--       the effects (the rest).
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 'duplicate'
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'doc', ARGV[3])
local i = 8
local n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('LPUSH', KEYS[2], ARGV[i + j])
end
if n > 0 then
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
  -- Delivery records: [kind, state, sha, change_at, asked_at, ended_at, by], times in
  -- seconds. Those that ended more than the kept time before the newest are dropped.
  local newest = nil
  for j = 1, n do
    local record = ARGV[i + n + j]
    redis.call('LPUSH', KEYS[6], record)
    local ended = cjson.decode(record)[6]
    if newest == nil or ended > newest then
      newest = ended
    end
  end
  local cutoff = newest - tonumber(ARGV[7])
  while true do
    local oldest = redis.call('LINDEX', KEYS[6], -1)
    if not oldest or cjson.decode(oldest)[6] >= cutoff then
      break
    end
    redis.call('RPOP', KEYS[6])
  end
  redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[6]) - 1)
end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
if n > 0 then
  local id
  for j = 1, n do
    id = redis.call('XADD', KEYS[3], '*', 'entry', ARGV[i + j])
  end
  -- Audit entries made more than the kept time before this one are dropped (ids are times).
  local ms = tonumber(string.match(id, '^(%d+)'))
  redis.call('XTRIM', KEYS[3], 'MINID', ms - tonumber(ARGV[7]) * 1000)
end
i = i + n + 1
if ARGV[i] == '1' then
  local sha = ARGV[i + 1]
  redis.call('ZADD', KEYS[7], ARGV[i + 2], sha)
  if ARGV[i + 4] == '1' then
    redis.call('HSET', KEYS[8], sha, ARGV[i + 3])
  else
    redis.call('HSETNX', KEYS[8], sha, ARGV[i + 3])
  end
  local old = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', '(' .. ARGV[i + 5])
  local count = redis.call('ZCARD', KEYS[7])
  local most = tonumber(ARGV[i + 6])
  if count - #old > most then
    for _, member in ipairs(redis.call('ZRANGE', KEYS[7], #old, count - most - 1)) do
      table.insert(old, member)
    end
  end
  for j = 1, #old, 1000 do  -- unpack in chunks: Lua's stack is bounded
    local last = math.min(j + 999, #old)
    redis.call('ZREM', KEYS[7], unpack(old, j, last))
    redis.call('HDEL', KEYS[8], unpack(old, j, last))
  end
  i = i + 7
else
  i = i + 1
end
for j = i, #ARGV do
  redis.call('RPUSH', KEYS[4], ARGV[j])
end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[4])
return 'applied'
