#!lua
-- newsdrop store: remove expired tombstones from the changelog (housekeeping), atomically
-- with the scripts that write and restore them.
--
-- KEYS[1] articles (changelog)   KEYS[2] latest (index hash)
-- KEYS[3] tombstones (sorted set: article id -> tombstone time in ms)
-- ARGV[1] cutoff_ms (tombstones written before this Unix time in ms expire)
-- ARGV[2] limit (at most this many per call)
-- Returns how many tombstones were removed. The index keeps each retraction's record
-- ("<version> <tombstone entry_id> RETRACTED_MARK"): a replay of the retracted version, or a
-- re-drop of the same content, stays retracted after the tombstone is gone.

local articles, latest, tombstones = KEYS[1], KEYS[2], KEYS[3]
local cutoff_ms, limit = ARGV[1], ARGV[2]

local expired = redis.call('ZRANGEBYSCORE', tombstones, '-inf', '(' .. cutoff_ms,
    'LIMIT', 0, limit)
for _, id in ipairs(expired) do
    local stored = redis.call('HGET', latest, id)
    if stored then
        local first = string.find(stored, ' ', 1, true)
        local second = first and string.find(stored, ' ', first + 1, true)
        if second and string.sub(stored, second + 1) == RETRACTED_MARK then
            redis.call('XDEL', articles, string.sub(stored, first + 1, second - 1))
        end
    end
    redis.call('ZREM', tombstones, id)
end
return #expired
