"""Redis locks held by one worker, as Lua text the shared pace and shared policy files use.

A lock's value is ``"<worker> <token>"``: the token lets only its taker free it, the worker
name lets others see whether its taker is still alive (its heartbeat key, kept by the
frontier). A holder whose heartbeat has lapsed is dead and its lock may be dropped at once —
judged only while the *asking* worker's own heartbeat exists, so a worker outside the
heartbeat scheme (no frontier running) never takes a lock from anyone.
"""

from __future__ import annotations

from typing import Final

#: KEYS[1]: the lock. ARGV[1]: "<worker> <token>". Deletes the lock only if it is still ours.
RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: A Lua function for scripts to start with: drops ``lock`` when its holder is dead
#: (``alive_prefix .. name`` gone while ``my_alive`` exists); returns the lock's value left
#: in place (false when there is none now).
HOLDER_CHECK: Final = """
local function live_holder(lock, alive_prefix, my_alive)
  local holder = redis.call('GET', lock)
  if not holder then return false end
  local name = string.match(holder, '^(%S+) ')
  if name and redis.call('EXISTS', my_alive) == 1 and redis.call('EXISTS', alive_prefix .. name) == 0 then
    redis.call('DEL', lock)
    return false
  end
  return holder
end
"""

#: KEYS: lock, heartbeat prefix, this worker's heartbeat. 1 when a dead holder's lock was dropped.
BREAK_DEAD: Final = HOLDER_CHECK + """
local before = redis.call('EXISTS', KEYS[1])
if before == 1 and not live_holder(KEYS[1], KEYS[2], KEYS[3]) then return 1 end
return 0
"""

__all__ = ["BREAK_DEAD", "HOLDER_CHECK", "RELEASE"]
