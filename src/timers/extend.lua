-- extend.lua: move the lease deadline of a claimed timer, if the claim is still current.
-- KEYS[1] inflight ZSET, KEYS[2] claims HASH
-- ARGV[1] id, ARGV[2] token, ARGV[3] new lease deadline (unix ms)
-- Returns 1 if extended, 0 if the claim was lost.
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
  return 1
end
return 0
