-- newsdrop store: the decision and the writes of one message. Not a script on its own:
-- scripts.py prepends it to upsert.lua (entries passed as arguments) and consume.lua (entries
-- read inside the script), so both decide and write with this one source. Its constants
-- (OUTCOME_*, STATS_*, COUNTER_OF, VERSION_HASH_START) come from the generated preamble
-- before it (newsdrop.store.script_contract).
-- KEYS, ARGV: none of its own (a chunk: its functions take key names and values as arguments
-- from the script it is prepended to).
--
-- The index hash `latest` maps article id -> "<version> <entry_id>": the greatest version
-- seen and the live changelog entry. The stored content hash is the version's suffix
-- (18 digits . 20 digits . hash; validation.py and consume.lua check that format).
--
-- `decide` is production; newsdrop.shared.version.decide is its executable specification
-- (tests/integration/test_store_lua.py runs both on the same cases).
-- Versions are compared byte by byte: Lua's `<` on strings uses strcoll (locale-dependent).

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
        return OUTCOME_APPLIED
    end
    if greater(version, stored_version) then
        if hash == stored_hash then
            return OUTCOME_REFRESHED
        end
        return OUTCOME_APPLIED
    end
    if hash == stored_hash then
        return OUTCOME_DUPLICATE
    end
    return OUTCOME_STALE
end

-- Decide one valid message against the index and write its effects: announce, delete the
-- old entry and index the new one (applied), or raise the indexed version (refreshed).
-- Returns the status and whether the article is new. Not the counters and the XACK: the
-- caller writes them in the same call. The read comes first, so a failing read (a corrupt
-- index value, WRONGTYPE) raises before this message writes anything.
local function apply(articles, latest, id, url, version, hash, article)
    local stored = redis.call('HGET', latest, id)
    local stored_version, stored_entry, stored_hash = false, false, false
    if stored then
        local space = string.find(stored, ' ', 1, true)
        if not space then
            error({err = 'ERR newsdrop: index value of article ' .. id
                .. ' is not "<version> <entry_id>"'})
        end
        stored_version = string.sub(stored, 1, space - 1)
        stored_entry = string.sub(stored, space + 1)
        stored_hash = string.sub(stored_version, VERSION_HASH_START)
    end
    local status = decide(version, hash, stored_version, stored_hash)
    if status == OUTCOME_APPLIED then
        local new_entry = redis.call('XADD', articles, '*', 'id', id, 'url', url,
            'version', version, 'content_hash', hash, 'article', article)
        if stored_entry then
            redis.call('XDEL', articles, stored_entry)
        end
        redis.call('HSET', latest, id, version .. ' ' .. new_entry)
    elseif status == OUTCOME_REFRESHED then
        -- Same content, greater version: remember the version, announce nothing.
        redis.call('HSET', latest, id, version .. ' ' .. stored_entry)
    end
    return status, not stored
end
