-- wrk script of bench/services.sh. Environment:
--   BENCH_METHOD      GET (default) or POST
--   BENCH_BODY        the request body (JSON); %s in it is replaced by a
--                     request counter, so that each post or profile differs
--   BENCH_RANDOM_USER 1: a new X-User-ID (random UUID) on every request
--   BENCH_DELAY_MS    > 0: each connection waits this long before each
--                     request (a fixed rate: connections * 1000 / delay)
-- done() prints one line: RESULT requests duration_us p50_us p99_us errors
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local random_user = os.getenv("BENCH_RANDOM_USER") == "1"
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local counter = 0

function init(args)
	math.randomseed(os.time() * 1000 + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
	wrk.method = method
	if body then
		wrk.headers["Content-Type"] = "application/json"
	end
end

local function hex(n)
	local s = ""
	for _ = 1, n do
		s = s .. string.format("%x", math.random(0, 15))
	end
	return s
end

function request()
	counter = counter + 1
	local headers = nil
	if random_user then
		headers = {}
		for k, v in pairs(wrk.headers) do
			headers[k] = v
		end
		headers["X-User-ID"] = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
	end
	local b = nil
	if body then
		b = string.format(body, tostring(counter))
	end
	return wrk.format(nil, nil, headers, b)
end

if pace > 0 then
	function delay()
		return pace
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
