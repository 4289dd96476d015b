-- Apply one decision to one stage, atomically.
-- KEYS: 1 state hash, 2 history list, 3 audit stream, 4 outbox list, 5 seen key,
--       6 deliveries list
-- ARGV: 1 expected version, 2 new version, 3 state doc, 4 seen ttl (s), 5 history limit,
--       6 deliveries limit, 7 deliveries kept (s), 8 number of finished deployments, then
--       those, then as many delivery records, then the number of audit entries, then those,
--       then the effects (the rest).
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
for j = 1, n do
  redis.call('XADD', KEYS[3], '*', 'entry', ARGV[i + j])
end
i = i + n + 1
for j = i, #ARGV do
  redis.call('RPUSH', KEYS[4], ARGV[j])
end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[4])
return 'applied'
