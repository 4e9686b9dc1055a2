-- outbox_claim.lua: claim up to ARGV[3] due lanes, each for one delivery of its oldest note.
-- A claimed lane's score becomes the lease deadline, so a worker that dies mid-delivery loses
-- the lane to the next claim after the lease. Empty lanes are dropped from `due`.
--
-- KEYS[1] due ZSET, KEYS[2] body HASH, KEYS[3] claims HASH
-- ARGV[1] now (unix ms), ARGV[2] lease deadline (unix ms), ARGV[3] max, ARGV[4] batch id,
-- ARGV[5] prefix of the lane LIST keys
-- Returns a flat array: lane, token, note id, body (nil if missing), lane, token, ...
local lanes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, lane in ipairs(lanes) do
  local id = redis.call('LINDEX', ARGV[5] .. lane, 0)
  if not id then
    redis.call('ZREM', KEYS[1], lane)
    redis.call('HDEL', KEYS[3], lane)
  else
    local token = ARGV[4] .. ':' .. i
    redis.call('ZADD', KEYS[1], ARGV[2], lane)
    redis.call('HSET', KEYS[3], lane, token)
    out[#out + 1] = lane
    out[#out + 1] = token
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', KEYS[2], id)
  end
end
return out
