#!lua
-- newsdrop store: apply one batch of `ingested` entries. Each message is atomic on its own
-- (the whole call is, as every Redis script): compare, then announce + store + ack, or only ack.
--
-- KEYS[1] ingested stream   KEYS[2] articles changelog   KEYS[3] stats hash
-- KEYS[3 + i] article hash of message i
-- ARGV[1] consumer group
-- ARGV[2 + 6 * (i - 1) ...] entry_id, id, url, version, content_hash, article of message i
-- Returns one status per message: applied | refreshed | duplicate | stale | gone (no longer pending:
-- another consumer already handled it, so nothing is done or counted twice).
--
-- The decision mirrors newsdrop.shared.version.decide (a test runs both on the same cases).
-- Versions are compared byte by byte: Lua's `<` on strings uses strcoll (locale-dependent).

local ingested, articles, stats = KEYS[1], KEYS[2], KEYS[3]
local group = ARGV[1]
local PER_MESSAGE = 6

local function greater(a, b)
    if a == b then
        return false
    end
    local n = math.min(#a, #b)
    for i = 1, n do
        local x, y = string.byte(a, i), string.byte(b, i)
        if x ~= y then
            return x > y
        end
    end
    return #a > #b
end

local function decide(version, hash, stored_version, stored_hash)
    if not stored_version then
        return 'applied'
    end
    if greater(version, stored_version) then
        if hash == stored_hash then
            return 'refreshed'
        end
        return 'applied'
    end
    if hash == stored_hash then
        return 'duplicate'
    end
    return 'stale'
end

local results = {}
local count = (#ARGV - 1) / PER_MESSAGE
for i = 1, count do
    local at = 1 + (i - 1) * PER_MESSAGE
    local entry_id, id, url = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
    local version, hash, article = ARGV[at + 4], ARGV[at + 5], ARGV[at + 6]
    local key = KEYS[3 + i]
    local status
    if #redis.call('XPENDING', ingested, group, entry_id, entry_id, 1) == 0 then
        status = 'gone'
    else
        -- Reads first: a failing read (e.g. WRONGTYPE) aborts before this message writes.
        -- The hash keeps only `version` and `entry_id` (memory): the stored content hash is
        -- the version's suffix (18 digits . 20 digits . hash; entries.py checks the format).
        local stored = redis.call('HMGET', key, 'version', 'entry_id')
        local stored_hash = stored[1] and string.sub(stored[1], 41) or false
        status = decide(version, hash, stored[1], stored_hash)
        if status == 'applied' then
            local new_entry = redis.call('XADD', articles, '*', 'id', id, 'url', url,
                'version', version, 'content_hash', hash, 'article', article)
            if stored[2] then
                redis.call('XDEL', articles, stored[2])
            end
            redis.call('HSET', key, 'version', version, 'entry_id', new_entry)
            if not stored[1] then
                redis.call('HINCRBY', stats, 'articles', 1)
            end
        elseif status == 'refreshed' then
            -- Same content, greater version: remember the version, announce nothing.
            redis.call('HSET', key, 'version', version)
        end
        -- A refresh is a duplicate for the counters: same content, nothing announced.
        redis.call('HINCRBY', stats, status == 'refreshed' and 'duplicate' or status, 1)
        redis.call('XACK', ingested, group, entry_id)
    end
    results[i] = status
end
return results
