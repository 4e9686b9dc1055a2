-- cas_notes.lua: replace a versioned document only if it still has the expected version, and in
-- the same step append the notes this change produces to their outbox lanes. A lost swap queues
-- nothing; a won swap queues every note: the change and its notes commit together.
-- Everything is checked before the first write, so an error leaves nothing half done.
--
-- KEYS[1] document, KEYS[2] outbox due ZSET, KEYS[3] outbox body HASH, KEYS[4] outbox age ZSET,
-- KEYS[4 + i] the lane LIST of note i (in queueing order)
-- ARGV[1] expected version, ARGV[2] new value (not empty), ARGV[3] TTL in ms,
-- then per note i: ARGV[4i] lane, ARGV[4i+1] note id, ARGV[4i+2] body JSON, ARGV[4i+3] created
-- (unix ms; also when its lane becomes due if it has no score yet)
-- Returns 1 written and queued, 0 version differs, -1 no such document, -2 stored value is not
-- versioned, -3 an outbox key has the wrong type (nothing written).
local notes = #KEYS - 4
if notes < 0 or #ARGV ~= 3 + 4 * notes or ARGV[2] == '' then
  return redis.error_reply('cas_notes: bad arguments')
end
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
local v = string.match(cur, '^(%d+):')
if not v then return -2 end
if v ~= ARGV[1] then return 0 end
local want = { [2] = 'zset', [3] = 'hash', [4] = 'zset' }
for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= (want[i] or 'list') then return -3 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
for i = 1, notes do
  local a = 4 * i
  local lane, id, body, created = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  -- A note id already queued is not queued twice (as in outbox_push.lua).
  if redis.call('HEXISTS', KEYS[3], id) == 0 then
    redis.call('HSET', KEYS[3], id, body)
    redis.call('RPUSH', KEYS[4 + i], id)
    redis.call('ZADD', KEYS[4], created, id)
    redis.call('ZADD', KEYS[2], 'NX', created, lane)
  end
end
return 1
