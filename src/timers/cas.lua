-- cas.lua: replace (or delete) a versioned document only if it still has the expected version.
-- Documents are stored as "<version>:<json>"; the caller sends the full new value.
--
-- KEYS[1] document
-- ARGV[1] expected version, ARGV[2] new value ("" deletes), ARGV[3] TTL in ms
-- Returns 1 written, 0 version differs, -1 no such document, -2 stored value is not versioned.
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
local v = string.match(cur, '^(%d+):')
if not v then return -2 end
if v ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
