-- Each request comes from one of 65,536 client addresses (10.0.0.0/16), as traffic from many
-- users does: the gateway rate-limits per client IP, and a single loopback address would hit
-- the limit of an unknown function (120 per minute) at once. Every proxy gets the same load.
local n = 0
request = function()
  n = (n + 1) % 65536
  wrk.headers["x-forwarded-for"] = "10.0." .. math.floor(n / 256) .. "." .. (n % 256)
  return wrk.format()
end
