-- Each request carries the bearer token of one of many users (read from the file given after
-- `--`), round robin: per-user rate limits hold, and each token is verified once, then cached.
local tokens = {}
local n = 0

init = function(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
end

request = function()
  n = n % #tokens + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[n]
  wrk.headers["Origin"] = "https://app.example.com"
  return wrk.format()
end
