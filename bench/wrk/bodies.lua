-- POSTs one line of a prepared file per request, each line used once: "<bearer token>\t<JSON>".
--   wrk -s bodies.lua URL -- <path> <file> <wrk threads> [<pattern to count in answers>]
-- Thread n of N takes lines n, n+N, n+2N, ... so no two requests share a line (a slot to book,
-- a code to scan). When a thread runs out it repeats its last line and counts it as exhausted.

dofile("report.lua")

function init(args)
   report_init(args[4])
   local path, file, nthreads = args[1], args[2], tonumber(args[3])
   prepared = {}
   local n = 0
   for line in io.lines(file) do
      if n % nthreads == id then
         local token, body = line:match("^([^\t]*)\t(.*)$")
         prepared[#prepared + 1] = wrk.format("POST", path, {
            ["Authorization"] = "Bearer " .. token,
            ["Content-Type"] = "application/json",
         }, body)
      end
      n = n + 1
   end
   position = 0
   exhausted = 0
end

function request()
   if position < #prepared then
      position = position + 1
   else
      exhausted = exhausted + 1
   end
   return prepared[position]
end
