#!lua
-- newsdrop store: read the next entries of `ingested` for this consumer and apply them, in
-- one atomic call (the hot path: entries never travel to the client and back).
-- The generated constants and apply.lua (decide, apply) are prepended to this source when
-- it is loaded (scripts.py).
--
-- KEYS[1] ingested (stream)   KEYS[2] articles (changelog)   KEYS[3] stats (hash)
-- KEYS[4] latest (index hash: article id -> "<version> <entry_id>[ RETRACTED_MARK]")
-- KEYS[5] tombstones (sorted set: article id -> tombstone time in ms)
-- ARGV[1] group (consumer group)   ARGV[2] consumer (its name)   ARGV[3] count (max to read)
-- Returns {read, one count per outcome of CONSUMED_OUTCOMES in that order, {invalid entry ids},
-- {failed entry ids}}.
--
-- XREADGROUP ... > without BLOCK (a script may not block): each new entry is delivered to
-- exactly one call, so every entry read here is ours and no XPENDING check is needed. Each
-- entry is validated exactly as newsdrop.store.validation.to_upsert does; an invalid one is
-- neither applied nor acknowledged but returned, so the caller reads it, logs why and
-- dead-letters it after max_deliveries, as for entries read by the client. So is an entry
-- whose writes raise (caught per message: the others still complete in this call).

local ingested, articles, stats, latest, tombstones = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, consumer, count = ARGV[1], ARGV[2], ARGV[3]

-- Strict UTF-8 as Python's bytes.decode(): no overlongs, surrogates or code points past
-- U+10FFFF. Only called for strings with a byte >= 0x80.
local function utf8(s)
    local i, n = 1, #s
    while i <= n do
        local c = string.byte(s, i)
        local need, low, high = 0, 0x80, 0xBF
        if c < 0x80 then
            need = 0
        elseif c >= 0xC2 and c <= 0xDF then
            need = 1
        elseif c == 0xE0 then
            need, low = 2, 0xA0
        elseif c == 0xED then
            need, high = 2, 0x9F
        elseif c >= 0xE1 and c <= 0xEF then
            need = 2
        elseif c == 0xF0 then
            need, low = 3, 0x90
        elseif c >= 0xF1 and c <= 0xF3 then
            need = 3
        elseif c == 0xF4 then
            need, high = 3, 0x8F
        else
            return false
        end
        if i + need > n then
            return false
        end
        for k = 1, need do
            local d = string.byte(s, i + k)
            if k == 1 then
                if d < low or d > high then
                    return false
                end
            elseif d < 0x80 or d > 0xBF then
                return false
            end
        end
        i = i + need + 1
    end
    return true
end

local function text(s)
    return string.find(s, '^[%z\1-\127]*$') or utf8(s)
end

local function valid_id_url(id, url)
    -- id: ARTICLE_ID_HEX lowercase hex digits; url: http(s), valid UTF-8 (to_upsert decodes)
    if #id ~= ARTICLE_ID_HEX or not string.find(id, '^[0-9a-f]+$') then
        return false
    end
    return string.find(url, '^https?://') and text(url)
end

-- validation.to_upsert's checks (the same answer, not the same message: the caller asks
-- to_upsert why an entry was refused). Anchored patterns: Lua scans them in one pass.
-- Returns the message's kind (KIND_*), or false.
local function valid(f)
    if f.op then
        -- A retraction: op, id, url, reason, at; optional non-empty if_path, hex if_sha256.
        if f.op ~= OP_RETRACT or not (f.id and f.url and f.reason and f.at) then
            return false
        end
        if not (valid_id_url(f.id, f.url) and text(f.reason) and text(f.at)) then
            return false
        end
        if f.if_path and (#f.if_path == 0 or not text(f.if_path)) then
            return false
        end
        if f.if_sha256 and (#f.if_sha256 ~= SHA256_HEX
            or not string.find(f.if_sha256, '^[0-9a-f]+$')) then
            return false
        end
        return KIND_RETRACT
    end
    local id, url, version, hash = f.id, f.url, f.version, f.content_hash
    if not (id and url and version and hash and f.article) then
        return false
    end
    if f.forced and f.forced ~= FLAG then
        return false
    end
    -- content_hash: 1 to MAX_HASH_HEX lowercase hex digits
    if #hash > MAX_HASH_HEX or not string.find(hash, '^[0-9a-f]+$') then
        return false
    end
    -- version: 18 digits . 20 digits . content_hash (as [0-9]{18}\.[0-9]{20}\.[0-9a-f]{1,128}
    -- ending with the content hash). Digit runs ended by dots at VERSION_FIRST_DOT and just
    -- before VERSION_HASH_START are exactly that.
    local _, prefix_end = string.find(version, '^[0-9]+%.[0-9]+%.')
    if prefix_end ~= VERSION_HASH_START - 1 or string.byte(version, VERSION_FIRST_DOT) ~= 46 then
        return false
    end
    if #version ~= VERSION_HASH_START - 1 + #hash
        or string.find(version, hash, VERSION_HASH_START, true) ~= VERSION_HASH_START then
        return false
    end
    if not valid_id_url(id, url) then
        return false
    end
    if f.forced then
        return KIND_FORCED
    end
    return KIND_UPSERT
end

-- The reply: {read, the counts in CONSUMED_OUTCOMES order, invalid, failed}.
local function result(read, counts, invalid, failed)
    local out = {read}
    for _, outcome in ipairs(CONSUMED_OUTCOMES) do
        out[#out + 1] = counts[outcome]
    end
    out[#out + 1] = invalid
    out[#out + 1] = failed
    return out
end

-- The fields an entry's kind and validation read (any other is ignored).
local READ_FIELDS = {id = true, url = true, version = true, content_hash = true,
    article = true, reason = true, at = true, if_path = true, if_sha256 = true,
    [FORCED_FIELD] = true, [OP_FIELD] = true}

local counts = {}
for _, outcome in ipairs(CONSUMED_OUTCOMES) do
    counts[outcome] = 0
end
local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count,
    'STREAMS', ingested, '>')
if not reply then
    return result(0, counts, {}, {})
end
local entries = reply[1][2]
local new_articles = 0
local done, invalid, failed = {}, {}, {}
for i = 1, #entries do
    local entry_id, fields = entries[i][1], entries[i][2]
    local f = {}
    if fields then
        -- The last of repeated names wins, as in the client's dict of the entry.
        for j = 1, #fields, 2 do
            if READ_FIELDS[fields[j]] then
                f[fields[j]] = fields[j + 1]
            end
        end
    end
    local kind = valid(f)
    if kind then
        local ok, status, new = pcall(apply, articles, latest, tombstones, kind, f.id, f.url,
            f.version, f.content_hash, f.article, f.reason, f.if_path, f.if_sha256)
        if ok then
            counts[status] = counts[status] + 1
            if new then
                new_articles = new_articles + 1
            end
            done[#done + 1] = entry_id
        else
            -- A failing message stays pending; the caller retries it through upsert.lua,
            -- which reports the error. It wrote nothing: what can fail is the index read
            -- (a corrupt value, WRONGTYPE) or the announcement, and they come first.
            failed[#failed + 1] = entry_id
        end
    else
        invalid[#invalid + 1] = entry_id
    end
end
-- The acknowledgements and counters of every message applied above, in this same call.
for first = 1, #done, 1000 do
    redis.call('XACK', ingested, group, unpack(done, first, math.min(first + 999, #done)))
end
local totals = {} -- per stats field, by the counter rule (as upsert.lua per message)
for _, outcome in ipairs(CONSUMED_OUTCOMES) do
    local field = COUNTER_OF[outcome]
    totals[field] = (totals[field] or 0) + counts[outcome]
end
for _, field in ipairs(OUTCOME_STATS) do
    if totals[field] > 0 then
        redis.call('HINCRBY', stats, field, totals[field])
    end
end
if new_articles > 0 then
    redis.call('HINCRBY', stats, STATS_ARTICLES, new_articles)
end
return result(#entries, counts, invalid, failed)
