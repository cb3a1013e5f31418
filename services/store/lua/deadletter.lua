#!lua
-- newsdrop store: move one input entry to the dead-letter stream, at most once.
-- The generated constants are prepended to this source when it is loaded (scripts.py).
-- KEYS[1] ingested (stream)   KEYS[2] rejected (dead-letter stream)   KEYS[3] stats (hash)
-- ARGV[1] group (consumer group)   ARGV[2] entry_id (the entry)
-- ARGV[3] maxlen (of the rejected stream, approximate)
-- ARGV[4 ...] field, value pairs of the dead letter
-- Returns 1 when dead-lettered, 0 when the entry was no longer pending (handled elsewhere).

local ingested, rejected, stats = KEYS[1], KEYS[2], KEYS[3]
local group, entry_id, maxlen = ARGV[1], ARGV[2], ARGV[3]

if redis.call('XACK', ingested, group, entry_id) == 0 then
    return 0
end
local fields = {}
for i = 4, #ARGV do
    fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', rejected, 'MAXLEN', '~', maxlen, '*', unpack(fields))
redis.call('HINCRBY', stats, STATS_REJECTED, 1)
return 1
