-- newsdrop store: the decision and the writes of one message. Not a script on its own:
-- scripts.py prepends it to upsert.lua (entries passed as arguments) and consume.lua (entries
-- read inside the script), so both decide and write with this one source. Its constants
-- (OUTCOME_*, STATS_*, KIND_*, COUNTER_OF, VERSION_HASH_START, RETRACTED_MARK, the contract's
-- field names and FLAG) come from the generated preamble before it
-- (newsdrop.store.script_contract).
-- KEYS, ARGV: none of its own (a chunk: its functions take key names and values as arguments
-- from the script it is prepended to).
--
-- The index hash `latest` maps article id -> "<version> <entry_id>": the greatest version
-- seen and the live changelog entry; a retracted article's value is
-- "<retracted version> <tombstone entry_id> RETRACTED_MARK", kept after the tombstone
-- expired. The stored content hash is the version's suffix (18 digits . 20 digits . hash;
-- validation.py and consume.lua check that format). The sorted set `tombstones` holds the
-- live tombstones (article id -> tombstone time in ms) for housekeeping (expire.lua).
--
-- `decide` and `decide_retraction` are production; newsdrop.shared.version's functions of
-- the same names are their executable specification (tests/integration/test_store_lua.py
-- and test_store_lifecycle_lua.py run both on the same cases).
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

local function decide(version, hash, stored_version, stored_hash, retracted, forced)
    if not stored_version then
        if forced then
            return OUTCOME_FORCED
        end
        return OUTCOME_APPLIED
    end
    if retracted then
        if forced or (greater(version, stored_version) and hash ~= stored_hash) then
            return OUTCOME_RESTORED
        end
        return OUTCOME_SUPPRESSED
    end
    if forced then
        if hash == stored_hash then
            return OUTCOME_REFRESHED
        end
        return OUTCOME_FORCED
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

local function decide_retraction(stored, retracted, conditions_met)
    if stored and not retracted and conditions_met then
        return OUTCOME_RETRACTED
    end
    return OUTCOME_RETRACT_SKIPPED
end

-- The index value of `id`: version, entry id, whether retracted (false, false, false when
-- absent). Raises on a value that is none of the two forms.
local function indexed(latest, id)
    local stored = redis.call('HGET', latest, id)
    if not stored then
        return false, false, false
    end
    local space = string.find(stored, ' ', 1, true)
    if not space then
        error({err = 'ERR newsdrop: index value of article ' .. id
            .. ' is not "<version> <entry_id>"'})
    end
    local version, entry = string.sub(stored, 1, space - 1), string.sub(stored, space + 1)
    local second = string.find(entry, ' ', 1, true)
    if not second then
        return version, entry, false
    end
    if string.sub(entry, second + 1) ~= RETRACTED_MARK then
        error({err = 'ERR newsdrop: index value of article ' .. id
            .. ' has an unknown marker'})
    end
    return version, string.sub(entry, 1, second - 1), true
end

-- Decide one valid upsert against the index and write its effects: announce, delete the
-- old entry (or tombstone) and index the new one (applied, forced, restored), or set the
-- indexed version (refreshed). Returns the status and whether the article is new. Not the
-- counters and the XACK: the caller writes them in the same call. The read comes first, so
-- a failing read (a corrupt index value, WRONGTYPE) raises before this message writes
-- anything.
local function upsert(articles, latest, tombstones, id, url, version, hash, article, forced)
    local stored_version, stored_entry, retracted = indexed(latest, id)
    local stored_hash = stored_version and string.sub(stored_version, VERSION_HASH_START)
    local status = decide(version, hash, stored_version, stored_hash, retracted, forced)
    if status == OUTCOME_APPLIED or status == OUTCOME_FORCED or status == OUTCOME_RESTORED then
        local new_entry
        if forced then
            new_entry = redis.call('XADD', articles, '*', 'id', id, 'url', url,
                'version', version, 'content_hash', hash, 'article', article, FORCED_FIELD, FLAG)
        else
            new_entry = redis.call('XADD', articles, '*', 'id', id, 'url', url,
                'version', version, 'content_hash', hash, 'article', article)
        end
        if stored_entry then
            -- The old entry, or the tombstone (a no-op once housekeeping removed it).
            redis.call('XDEL', articles, stored_entry)
        end
        if retracted then
            redis.call('ZREM', tombstones, id)
        end
        redis.call('HSET', latest, id, version .. ' ' .. new_entry)
    elseif status == OUTCOME_REFRESHED then
        -- Same content: remember the version, announce nothing.
        redis.call('HSET', latest, id, version .. ' ' .. stored_entry)
    end
    return status, not stored_version
end

-- Whether the live entry's article came from `if_path` and `if_sha256` (each when given):
-- its `source.path` and `source.sha256`.
local function conditions_met(articles, entry, if_path, if_sha256)
    if not if_path and not if_sha256 then
        return true
    end
    local found = redis.call('XRANGE', articles, entry, entry)
    if #found == 0 then
        return false
    end
    local fields, article = found[1][2], nil
    for j = 1, #fields, 2 do
        if fields[j] == 'article' then
            article = fields[j + 1]
        end
    end
    local ok, document = pcall(cjson.decode, article or '')
    if not ok or type(document) ~= 'table' or type(document.source) ~= 'table' then
        return false
    end
    if if_path and document.source.path ~= if_path then
        return false
    end
    return not if_sha256 or document.source.sha256 == if_sha256
end

-- Decide one valid retraction and write its effects: the tombstone (the retracted version,
-- DELETED_FIELD, the reason; no article), the deletion of the live entry, the index's
-- record of the retraction and the live tombstone. Returns the status and false (never a
-- new article). Reads come first, as in `upsert`.
local function retract(articles, latest, tombstones, id, url, reason, if_path, if_sha256)
    local stored_version, stored_entry, retracted = indexed(latest, id)
    local met = stored_version and not retracted
        and conditions_met(articles, stored_entry, if_path, if_sha256)
    local status = decide_retraction(stored_version and true, retracted, met)
    if status == OUTCOME_RETRACTED then
        local tombstone = redis.call('XADD', articles, '*', 'id', id, 'url', url,
            'version', stored_version, DELETED_FIELD, FLAG, 'reason', reason)
        redis.call('XDEL', articles, stored_entry)
        redis.call('HSET', latest, id, stored_version .. ' ' .. tombstone .. ' ' .. RETRACTED_MARK)
        redis.call('ZADD', tombstones, tonumber(string.match(tombstone, '^(%d+)')), id)
    end
    return status, false
end

-- One valid message of any kind (KIND_*); an empty condition is no condition.
local function apply(articles, latest, tombstones, kind, id, url, version, hash, article,
                     reason, if_path, if_sha256)
    if kind == KIND_RETRACT then
        return retract(articles, latest, tombstones, id, url, reason,
            if_path ~= '' and if_path or nil, if_sha256 ~= '' and if_sha256 or nil)
    end
    return upsert(articles, latest, tombstones, id, url, version, hash, article,
        kind == KIND_FORCED)
end
