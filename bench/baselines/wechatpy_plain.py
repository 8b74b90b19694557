"""Baseline: a bare FastAPI endpoint doing only wechatpy check_signature + parse + create_reply.

No dedupe, no database, no Redis. Served by uvicorn with the same flags as the product.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from wechatpy import create_reply, parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WECHAT_TOKEN", "benchToken")
app = FastAPI()


@app.post("/wechat")
async def wechat(request: Request) -> Response:
    q = request.query_params
    try:
        check_signature(TOKEN, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except InvalidSignatureException:
        return Response(status_code=403)
    msg = parse_message(await request.body())
    reply = create_reply("您好，这是关键词自动回复。", msg)
    return Response(reply.render(), media_type="application/xml")
