#!lua
-- newsdrop store: apply entries passed as arguments (the argv path: reclaimed entries, the
-- consumer's own pending entries after a restart, what the blocking read returns, and the
-- one-by-one retry after a failed call). Each message is atomic on its own (the whole call
-- is, as every Redis script): compare, then announce + store + ack, or only count + ack.
-- The generated constants and apply.lua (decide, apply) are prepended to this source when
-- it is loaded (scripts.py).
--
-- KEYS[1] ingested (stream)   KEYS[2] articles (changelog)   KEYS[3] stats (hash)
-- KEYS[4] latest (index hash: article id -> "<version> <entry_id>[ RETRACTED_MARK]")
-- KEYS[5] tombstones (sorted set: article id -> tombstone time in ms)
-- ARGV[1] group (consumer group)
-- ARGV[2 + PER_MESSAGE * (i - 1) ...] entry_id, id, url, version, content_hash, article,
-- kind, reason, if_path, if_sha256 of message i (MESSAGE_ARGV; empty when unused)
-- Returns one outcome per message: an OUTCOME_* of COUNTER_OF, or OUTCOME_GONE (no longer
-- pending: another consumer already handled it, so nothing is done or counted twice).

local ingested, articles, stats, latest, tombstones = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group = ARGV[1]

local results = {}
local count = (#ARGV - 1) / PER_MESSAGE
for i = 1, count do
    local at = 1 + (i - 1) * PER_MESSAGE
    local entry_id = ARGV[at + 1]
    if #redis.call('XPENDING', ingested, group, entry_id, entry_id, 1) == 0 then
        results[i] = OUTCOME_GONE
    else
        local status, new = apply(articles, latest, tombstones, ARGV[at + 7], ARGV[at + 2],
            ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 8],
            ARGV[at + 9], ARGV[at + 10])
        -- This message's counters and acknowledgement, before the next message: if a later
        -- one fails, everything up to it is complete (the caller retries the rest one by one).
        redis.call('HINCRBY', stats, COUNTER_OF[status], 1)
        if new then
            redis.call('HINCRBY', stats, STATS_ARTICLES, 1)
        end
        redis.call('XACK', ingested, group, entry_id)
        results[i] = status
    end
end
return results
