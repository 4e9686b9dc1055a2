-- claim.lua: hand out up to ARGV[3] timers to one worker, atomically.
-- First re-claims timers whose lease has run out (their worker crashed or stalled), then moves
-- due timers from `due` to `inflight`. Each claimed id gets a fresh token "<attempt>:<batch>",
-- stored in `claims`; ack.lua deletes a timer only when its caller presents the current token.
--
-- KEYS[1] due ZSET, KEYS[2] inflight ZSET, KEYS[3] body HASH, KEYS[4] claims HASH
-- ARGV[1] now (unix ms), ARGV[2] lease deadline (unix ms), ARGV[3] max (<= 1000),
-- ARGV[4] batch id (unique per call), ARGV[5] kinds to claim, comma-separated ('' or absent:
-- every kind). With kinds, up to 4 x ARGV[3] due ids are scanned and only timers whose body
-- names one of the kinds are claimed; the others (and bodies that do not decode) stay for a
-- worker that handles them.
-- Returns a flat array: id, attempt, body (nil when the body is missing), id, attempt, body, ...
-- The claim token of each id is "<attempt>:<batch id>".
local now = ARGV[1]
local deadline = ARGV[2]
local max = tonumber(ARGV[3])
local batch = ARGV[4]
local out = {}
local kinds = {}
local filter = ARGV[5] ~= nil and ARGV[5] ~= ''
if filter then
  for k in string.gmatch(ARGV[5], '[^,]+') do kinds[k] = true end
end
local scan = max
if filter then scan = math.min(max * 4, 4000) end

-- The first n of ids whose timer is of a wanted kind (all of them without a filter).
local function pick(ids, n)
  local keep = {}
  if #ids == 0 then return keep end
  local bodies = {}
  if filter then bodies = redis.call('HMGET', KEYS[3], unpack(ids)) end
  for i, id in ipairs(ids) do
    if #keep >= n then break end
    if not filter then
      keep[#keep + 1] = id
    elseif bodies[i] then
      local ok, t = pcall(cjson.decode, bodies[i])
      if ok and type(t) == 'table' and kinds[t.kind] then keep[#keep + 1] = id end
    end
  end
  return keep
end

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

local expired = pick(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, scan), max)
take(expired, false)
local room = max - #expired
if room > 0 then
  take(pick(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, scan), room), true)
end
return out
