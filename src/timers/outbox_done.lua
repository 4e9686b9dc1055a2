-- outbox_done.lua: end a claim on a lane, if its token is still current.
-- ARGV[4] = 'remove': the note was delivered (or dropped for good): it leaves the lane, and the
--   lane is due again at once if more notes wait, else it leaves `due`.
-- ARGV[4] = 'retry': the note stays first in its lane with the new body ARGV[6] (its attempt
--   count), and the lane is due at ARGV[5].
--
-- KEYS[1] due ZSET, KEYS[2] lane LIST, KEYS[3] body HASH, KEYS[4] age ZSET, KEYS[5] claims HASH
-- ARGV[1] lane, ARGV[2] token, ARGV[3] note id, ARGV[4] action, ARGV[5] due (unix ms),
-- ARGV[6] new body (retry only)
-- Returns 1 done, 0 the claim was no longer current (nothing changed).
if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[5], ARGV[1])
if ARGV[4] == 'retry' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  return 1
end
if redis.call('LINDEX', KEYS[2], 0) == ARGV[3] then
  redis.call('LPOP', KEYS[2])
end
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
if redis.call('LLEN', KEYS[2]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
