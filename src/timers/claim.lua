-- claim.lua: hand out up to ARGV[3] timers to one worker, atomically.
-- First re-claims timers whose lease has run out (their worker crashed or stalled), then moves
-- due timers from `due` to `inflight`. Each claimed id gets a fresh token "<attempt>:<batch>",
-- stored in `claims`; ack.lua deletes a timer only when its caller presents the current token.
--
-- KEYS[1] due ZSET, KEYS[2] inflight ZSET, KEYS[3] body HASH, KEYS[4] claims HASH
-- ARGV[1] now (unix ms), ARGV[2] lease deadline (unix ms), ARGV[3] max (<= 1000),
-- ARGV[4] batch id (unique per call)
-- Returns a flat array: id, attempt, body (nil when the body is missing), id, attempt, body, ...
-- The claim token of each id is "<attempt>:<batch id>".
local now = ARGV[1]
local deadline = ARGV[2]
local max = tonumber(ARGV[3])
local batch = ARGV[4]
local out = {}

local function take(ids, from_due)
  if #ids == 0 then return end
  -- A due timer has no claim (schedule clears it, claim moves it out of `due`): attempt 1.
  local prev = {}
  if not from_due then
    prev = redis.call('HMGET', KEYS[4], unpack(ids))
  end
  local bodies = redis.call('HMGET', KEYS[3], unpack(ids))
  local zargs, hargs = {}, {}
  for i, id in ipairs(ids) do
    local attempt = 1
    if prev[i] then
      attempt = (tonumber(string.match(prev[i], '^(%d+):')) or 0) + 1
    end
    local token = attempt .. ':' .. batch
    zargs[#zargs + 1] = deadline
    zargs[#zargs + 1] = id
    hargs[#hargs + 1] = id
    hargs[#hargs + 1] = token
    out[#out + 1] = id
    out[#out + 1] = attempt
    out[#out + 1] = bodies[i]
  end
  if from_due then
    redis.call('ZREM', KEYS[1], unpack(ids))
  end
  redis.call('ZADD', KEYS[2], unpack(zargs))
  redis.call('HSET', KEYS[4], unpack(hargs))
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)
take(expired, false)
local room = max - #expired
if room > 0 then
  take(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, room), true)
end
return out
