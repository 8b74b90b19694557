-- wrk script: POST a plaintext text message with a unique MsgId per request (no dedupe hits).
-- args: <path with signed query> <msgid base>
local counter = 0
local threads = {}
local template = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>" ..
  "<FromUserName><![CDATA[oBench%07dAbCdEfGhIjKlMnOp]]></FromUserName>" ..
  "<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType>" ..
  "<Content><![CDATA[开户]]></Content><MsgId>%d</MsgId></xml>"

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  path = args[1]
  base = tonumber(args[2])
  created = tonumber(args[3])
  wrk.headers["Content-Type"] = "text/xml"
end

function request()
  counter = counter + 1
  local msgid = base + tid * 100000000 + counter
  local body = string.format(template, counter % 5000, created, msgid)
  return wrk.format("POST", path, nil, body)
end
