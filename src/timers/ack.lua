-- ack.lua: finish claimed timers, each only if its claim token is still the current one.
-- A worker whose lease ran out (and whose timer was re-claimed), or whose timer was re-scheduled
-- or cancelled meanwhile, gets 0 for that id and changes nothing.
--
-- KEYS[1] inflight ZSET, KEYS[2] body HASH, KEYS[3] claims HASH
-- ARGV: id, token, id, token, ...
-- Returns one integer per id: 1 acknowledged, 0 rejected.
local out = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[3], id) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
