-- outbox_push.lua: queue one note at the end of its lane (a Slack thread, DM or channel).
-- A note id already queued is not queued twice. The lane becomes due now unless it already has
-- a score (claimed, or backing off after a failure: its order must hold).
--
-- KEYS[1] due ZSET, KEYS[2] lane LIST, KEYS[3] body HASH, KEYS[4] age ZSET
-- ARGV[1] lane, ARGV[2] note id, ARGV[3] body JSON, ARGV[4] created (unix ms), ARGV[5] now
-- Returns 1 queued, 0 already queued.
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[1], 'NX', ARGV[5], ARGV[1])
return 1
