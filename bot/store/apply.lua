-- Apply one decision to one stage, atomically.
-- KEYS: 1 state hash, 2 history list, 3 audit stream, 4 outbox list, 5 seen key
-- ARGV: 1 expected version, 2 new version, 3 state doc, 4 seen ttl (s), 5 history limit,
--       6 number of finished deployments, then those, then the number of audit entries,
--       then those, then the effects (the rest).
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 'duplicate'
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'doc', ARGV[3])
local i = 6
local n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('LPUSH', KEYS[2], ARGV[i + j])
end
if n > 0 then
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
end
i = i + n + 1
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
