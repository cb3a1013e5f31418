#!lua
-- newsdrop store: move one input entry to the dead-letter stream, at most once.
-- KEYS[1] ingested stream   KEYS[2] rejected stream   KEYS[3] stats hash
-- ARGV[1] consumer group    ARGV[2] entry id    ARGV[3] rejected MAXLEN (approximate)
-- ARGV[4 ...] field, value pairs of the dead letter
-- Returns 1 when dead-lettered, 0 when the entry was no longer pending (handled elsewhere).

if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
    return 0
end
local fields = {}
for i = 4, #ARGV do
    fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
redis.call('HINCRBY', KEYS[3], 'rejected', 1)
return 1
