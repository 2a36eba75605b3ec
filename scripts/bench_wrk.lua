-- wrk script for `scripts/bench` and `scripts/scale`: authenticated PATCH (JSON or DataContract
-- XML) or GET of /sessions/{id} with a random session per request and random enum values per
-- PATCH, or GET of one fixed path (a list query).
--
-- Configured through the environment (set by scripts/bench or scripts/scale):
--   BENCH_KIND            json | xml | get | path
--   BENCH_PATH            with kind path: the path and query to GET
--   BENCH_SESSION_PREFIX  ids are PREFIX .. zero-padded 6-digit index (as scripts/bench_data.py)
--   BENCH_SESSIONS        how many sessions exist (indexes 0 .. N-1)
--   BENCH_BASIC           base64 of "user:password"
--   BENCH_SEED            random seed (each wrk thread adds its own number)
-- At the end it prints one line for scripts/bench to parse:
--   BENCHRESULT requests duration_us p50_us p99_us status_errors connect read write timeout
-- and one more, the slowest request:
--   BENCHMAX max_us

local kind = os.getenv("BENCH_KIND") or "json"
local prefix = assert(os.getenv("BENCH_SESSION_PREFIX"), "BENCH_SESSION_PREFIX not set")
local sessions = assert(tonumber(os.getenv("BENCH_SESSIONS")), "BENCH_SESSIONS not set")
local auth = "Basic " .. assert(os.getenv("BENCH_BASIC"), "BENCH_BASIC not set")
local seed = tonumber(os.getenv("BENCH_SEED") or "1")

local call_states = { "Disconnected", "Ringing", "Connected", "Hold", "Passive" }
local queue_states = { "None", "Queued", "Ringing", "Connected", "Hold", "Disconnected" }

local headers
if kind == "xml" then
   headers = { ["Authorization"] = auth, ["Content-Type"] = "application/xml",
               ["Accept"] = "application/xml" }
elseif kind == "json" then
   headers = { ["Authorization"] = auth, ["Content-Type"] = "application/json",
               ["Accept"] = "application/json" }
elseif kind == "get" or kind == "path" then
   headers = { ["Authorization"] = auth, ["Accept"] = "application/json" }
else
   error("BENCH_KIND must be json, xml, get or path, not " .. kind)
end
local fixed_path = kind == "path" and assert(os.getenv("BENCH_PATH"), "BENCH_PATH not set")

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   math.randomseed(seed * 1000 + (thread_number or 0))
end

function request()
   if fixed_path then
      return wrk.format("GET", fixed_path, headers)
   end
   local id = string.format("%s%06d", prefix, math.random(0, sessions - 1))
   local path = "/sessions/" .. id
   if kind == "get" then
      return wrk.format("GET", path, headers)
   end
   local cs = call_states[math.random(#call_states)]
   local qs = queue_states[math.random(#queue_states)]
   local note = "note " .. math.random(1, 1000000000)
   local body
   if kind == "json" then
      body = '{"callState":"' .. cs .. '","queueState":"' .. qs .. '","consoleData":"' .. note .. '"}'
   else
      -- The seed's sample request, without HoldReason (the JSON body and pgbench leave it too).
      body = '<PatchSession xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
         .. 'xmlns="http://schemas.datacontract.org/2004/07/Voice.Api.Sessions">'
         .. '<CallState>' .. cs .. '</CallState><ConsoleData>' .. note .. '</ConsoleData>'
         .. '<QueueState>' .. qs .. '</QueueState><SessionId>' .. id .. '</SessionId>'
         .. '</PatchSession>'
   end
   return wrk.format("PATCH", path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCHRESULT %d %d %d %d %d %d %d %d %d\n",
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
      e.status, e.connect, e.read, e.write, e.timeout))
   -- The slowest request (µs), on a line of its own: the line above is what every script reads.
   io.write(string.format("BENCHMAX %d\n", latency.max))
end
